"""The identity service's web process: `gunicorn 'services.identity.app:create_app()'`."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.core.service import CONTEXT_KEY
from services.core.web import create_service_app
from services.identity.api import blp
from services.identity.context import MIGRATIONS, IdentityContext, build_context

__all__ = ["MIGRATIONS", "create_app"]


def create_app(ctx: IdentityContext | None = None) -> Flask:
    """The web app on `ctx`, built from the environment when absent."""
    ctx = ctx or build_context()
    app = create_service_app(
        ctx.settings, title="Identity service", engine=ctx.database.engine, blueprints=[blp]
    )
    app.extensions[CONTEXT_KEY] = ctx
    if ctx.config.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=ctx.config.trusted_proxies
        )
    return app
