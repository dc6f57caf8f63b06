"""The dossier service's one context, built by `build_context()` for the web app, the
worker and `manage` alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.core.auth import TokenVerifier, verifier_for
from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceContext, ServiceDatabase
from services.dossier import SERVICE
from services.dossier import problems as _problems  # registers the service's problem codes
from services.dossier.blobs import BlobStore, FilesystemBlobStore
from services.dossier.calendar import WorkingCalendar, load_calendar
from services.dossier.config import DossierSettings
from services.dossier.ratelimit import WindowLimit

_ = _problems
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class DossierContext(ServiceContext):
    """What the dossier domain needs besides a session: its limits, the working
    calendar, the blob store and the per-process limit of public calls."""

    config: DossierSettings
    calendar: WorkingCalendar
    blobs: BlobStore
    public_limit: WindowLimit


def build_context(
    settings: ServiceSettings | None = None,
    config: DossierSettings | None = None,
    *,
    database: ServiceDatabase | None = None,
    verifier: TokenVerifier | None = None,
    blobs: BlobStore | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> DossierContext:
    """The context from the environment; tests inject what they replace."""
    settings = settings or ServiceSettings.from_env(SERVICE)
    config = config or DossierSettings.from_env()
    return DossierContext(
        settings=settings,
        database=database or ServiceDatabase.open(settings),
        verifier=verifier or verifier_for(settings),
        clock=clock,
        config=config,
        calendar=load_calendar(config.calendar_file),
        blobs=blobs or FilesystemBlobStore(config.blob_dir),
        public_limit=WindowLimit(config.lookup_rate_limit),
    )
