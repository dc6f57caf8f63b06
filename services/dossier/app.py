"""The dossier service's web process: `gunicorn 'services.dossier.app:create_app()'`."""

from __future__ import annotations

from flask import Flask

from services.core.service import CONTEXT_KEY
from services.core.web import create_service_app
from services.dossier.api import blp
from services.dossier.config import MB
from services.dossier.context import MIGRATIONS, DossierContext, build_context

__all__ = ["MIGRATIONS", "build_context", "create_app"]


def create_app(ctx: DossierContext | None = None) -> Flask:
    """The dossier service's Flask app on `ctx` (built from the environment when not given)."""
    ctx = ctx or build_context()
    app = create_service_app(
        ctx.settings,
        title="Dossier service",
        engine=ctx.database.engine,
        blueprints=[blp],
        # Room for an anonymous filing's files in one request, plus the form overhead.
        max_content_length=ctx.config.max_dossier_bytes + MB,
        max_json_length=MB,
        config={"OPENAPI_URL_PREFIX": "/api/dossiers"},
    )
    app.extensions[CONTEXT_KEY] = ctx
    return app
