"""The dossier service's web process: `gunicorn 'services.dossier.app:create_app()'`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.core.auth import TokenVerifier, verifier_for
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.core.web import create_service_app
from services.dossier import SERVICE
from services.dossier.api import Runtime, blp
from services.dossier.blobs import BlobStore, FilesystemBlobStore
from services.dossier.calendar import load_calendar
from services.dossier.config import MB, DossierSettings
from services.dossier.filing import DossierContext
from services.dossier.ratelimit import WindowLimit

MIGRATIONS = Path(__file__).parent / "migrations"


def build_context(dossier: DossierSettings, blobs: BlobStore | None = None) -> DossierContext:
    return DossierContext(
        dossier,
        load_calendar(dossier.calendar_file),
        blobs or FilesystemBlobStore(dossier.blob_dir),
    )


def create_app(
    settings: ServiceSettings | None = None,
    dossier: DossierSettings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    database: ServiceDatabase | None = None,
) -> Flask:
    settings = settings or ServiceSettings.from_env(SERVICE)
    dossier = dossier or DossierSettings.from_env()
    database = database or ServiceDatabase.open(settings)
    app = create_service_app(
        settings,
        title="Dossier service",
        engine=database.engine,
        blueprints=[blp],
        # Room for an anonymous filing's files in one request, plus the form overhead.
        max_content_length=dossier.max_dossier_bytes + MB,
        max_json_length=MB,
        config={"OPENAPI_URL_PREFIX": "/api/dossiers"},
    )
    app.extensions["database"] = database
    app.extensions["dossier"] = Runtime(
        sessions=database.sessions,
        ctx=build_context(dossier),
        verifier=verifier or verifier_for(settings),
        public_limit=WindowLimit(dossier.lookup_rate_limit),
    )
    return app
