"""HTTP routes of the notify service: thin, schemas in and out."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("notify", __name__, url_prefix="/api/notify", description="Notify service")
