"""HTTP routes of the identity service: thin, schemas in and out."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("identity", __name__, url_prefix="/api/identity", description="Identity service")
