"""The catalog service's web process: `gunicorn 'services.catalog.app:create_app()'`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.catalog import SERVICE
from services.catalog.api import blp
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env(SERVICE)
    database = ServiceDatabase.open(settings)
    app = create_service_app(
        settings, title="Catalogue service", engine=database.engine, blueprints=[blp]
    )
    app.extensions["database"] = database
    return app
