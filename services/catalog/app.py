"""The catalog service's web process: `gunicorn 'services.catalog.app:create_app()'`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.catalog import SERVICE
from services.catalog import problems as _problems  # registers the service's problem codes
from services.catalog.api import CatalogContext, blp
from services.catalog.config import CatalogSettings
from services.core.auth import TokenVerifier, verifier_for
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 8002

__all__ = ["DEFAULT_PORT", "MIGRATIONS", "create_app"]
_ = _problems


def create_app(
    settings: ServiceSettings | None = None,
    *,
    limits: CatalogSettings | None = None,
    verifier: TokenVerifier | None = None,
) -> Flask:
    """The catalogue's Flask app; tests inject settings, limits and a token verifier."""
    settings = settings or ServiceSettings.from_env(SERVICE)
    limits = limits or CatalogSettings.from_env()
    database = ServiceDatabase.open(settings)
    app = create_service_app(
        settings,
        title="Catalogue service",
        engine=database.engine,
        blueprints=[blp],
        max_content_length=limits.max_body_bytes,
    )
    app.extensions["database"] = database
    app.extensions["catalog"] = CatalogContext(
        settings=settings,
        limits=limits,
        database=database,
        verifier=verifier or verifier_for(settings),
    )
    return app
