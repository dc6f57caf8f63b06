"""The notify service's web process: `gunicorn 'services.notify.app:create_app()'`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_smorest import Blueprint

from services.core.auth import TokenVerifier, verifier_for
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app
from services.notify import SERVICE
from services.notify.api import VERIFIER_KEY, blp, dev_blp
from services.notify.config import NotifySettings

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_PORT = 8004


def create_app(
    settings: ServiceSettings | None = None,
    notify_settings: NotifySettings | None = None,
    verifier: TokenVerifier | None = None,
) -> Flask:
    """The web app; refuses to start with the dev outbox in a production configuration."""
    settings = settings or ServiceSettings.from_env(SERVICE)
    notify_settings = (notify_settings or NotifySettings.from_env()).check()
    database = ServiceDatabase.open(settings)
    blueprints: list[Blueprint] = [blp]
    if notify_settings.dev_outbox_endpoint:
        blueprints.append(dev_blp)
    app = create_service_app(
        settings, title="Notify service", engine=database.engine, blueprints=blueprints
    )
    app.extensions["database"] = database
    app.extensions["notify_settings"] = notify_settings
    app.extensions[VERIFIER_KEY] = verifier or verifier_for(settings)
    return app
