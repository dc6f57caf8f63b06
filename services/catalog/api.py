"""HTTP routes of the catalog service: thin, schemas in and out."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("catalog", __name__, url_prefix="/api/catalog", description="Catalogue service")
