"""The catalog service's web process: `gunicorn 'services.catalog.app:create_app()'`."""

from __future__ import annotations

from flask import Flask

from services.catalog.api import blp
from services.catalog.context import MIGRATIONS, CatalogContext, build_context
from services.core.service import CONTEXT_KEY
from services.core.web import create_service_app

DEFAULT_PORT = 8002

__all__ = ["DEFAULT_PORT", "MIGRATIONS", "build_context", "create_app"]


def create_app(ctx: CatalogContext | None = None) -> Flask:
    """The catalogue's Flask app on `ctx` (built from the environment when not given)."""
    ctx = ctx or build_context()
    app = create_service_app(
        ctx.settings,
        title="Catalogue service",
        engine=ctx.database.engine,
        blueprints=[blp],
        max_content_length=ctx.config.max_body_bytes,
    )
    app.extensions[CONTEXT_KEY] = ctx
    return app
