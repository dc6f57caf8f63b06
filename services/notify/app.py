"""The notify service's web process: `gunicorn 'services.notify.app:create_app()'`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app
from services.notify import SERVICE
from services.notify.api import blp

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ServiceSettings | None = None) -> Flask:
    settings = settings or ServiceSettings.from_env(SERVICE)
    database = ServiceDatabase.open(settings)
    app = create_service_app(
        settings, title="Notify service", engine=database.engine, blueprints=[blp]
    )
    app.extensions["database"] = database
    return app
