"""HTTP routes of the dossier service: thin, schemas in and out."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("dossier", __name__, url_prefix="/api/dossier", description="Dossier service")
