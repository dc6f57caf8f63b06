"""The identity service's web process: `gunicorn 'services.identity.app:create_app()'`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.core.bus.envelope import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app
from services.identity import SERVICE, errors
from services.identity.api import blp
from services.identity.config import IdentityConfig
from services.identity.service import Identity

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    settings: ServiceSettings | None = None,
    config: IdentityConfig | None = None,
    database: ServiceDatabase | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Flask:
    settings = settings or ServiceSettings.from_env(SERVICE)
    config = config or IdentityConfig.from_env()
    database = database or ServiceDatabase.open(settings)
    errors.register()
    app = create_service_app(
        settings, title="Identity service", engine=database.engine, blueprints=[blp]
    )
    app.extensions["database"] = database
    app.extensions["identity"] = Identity(settings, config, database.sessions, clock)
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.trusted_proxies
        )
    return app
