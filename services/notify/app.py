"""The notify service's web process: `gunicorn 'services.notify.app:create_app()'`."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Blueprint

from services.core.service import CONTEXT_KEY
from services.core.web import create_service_app
from services.notify.api import blp, dev_blp
from services.notify.context import MIGRATIONS, NotifyContext, build_context

__all__ = ["DEFAULT_PORT", "MIGRATIONS", "create_app"]
DEFAULT_PORT = 8004


def create_app(ctx: NotifyContext | None = None) -> Flask:
    """The web app on `ctx` (built from the environment, or from the pieces given, when
    absent); refuses to start with the dev outbox in a production configuration."""
    ctx = ctx or build_context()
    blueprints: list[Blueprint] = [blp]
    if ctx.notify.dev_outbox_endpoint:
        blueprints.append(dev_blp)
    app = create_service_app(
        ctx.settings, title="Notify service", engine=ctx.database.engine, blueprints=blueprints
    )
    app.extensions[CONTEXT_KEY] = ctx
    return app
