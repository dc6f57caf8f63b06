"""The identity service's web process: `gunicorn 'services.identity.app:create_app()'`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import CONTEXT_KEY, ServiceDatabase
from services.core.web import create_service_app
from services.identity.api import blp
from services.identity.config import IdentityConfig
from services.identity.context import MIGRATIONS, IdentityContext, build_context

__all__ = ["MIGRATIONS", "create_app"]


def create_app(
    settings: ServiceSettings | None = None,
    config: IdentityConfig | None = None,
    database: ServiceDatabase | None = None,
    clock: Callable[[], datetime] = utcnow,
    ctx: IdentityContext | None = None,
) -> Flask:
    ctx = ctx or build_context(settings, config, database, clock)
    app = create_service_app(
        ctx.settings, title="Identity service", engine=ctx.database.engine, blueprints=[blp]
    )
    app.extensions[CONTEXT_KEY] = ctx
    if ctx.config.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=ctx.config.trusted_proxies
        )
    return app
