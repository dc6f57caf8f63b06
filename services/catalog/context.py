"""The catalog service's one context, built by `build_context()` for the web app, the
worker and `manage` alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.catalog import SERVICE
from services.catalog import problems as _problems  # registers the service's problem codes
from services.catalog.config import CatalogSettings
from services.core.auth import TokenVerifier, verifier_for
from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceContext, ServiceDatabase

_ = _problems
MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class CatalogContext(ServiceContext):
    """What the catalogue's routes and commands need: its HTTP limits besides the shared parts."""

    config: CatalogSettings


def build_context(
    settings: ServiceSettings | None = None,
    config: CatalogSettings | None = None,
    *,
    database: ServiceDatabase | None = None,
    verifier: TokenVerifier | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> CatalogContext:
    """The context from the environment; tests inject what they replace."""
    settings = settings or ServiceSettings.from_env(SERVICE)
    return CatalogContext(
        settings=settings,
        database=database or ServiceDatabase.open(settings),
        verifier=verifier or verifier_for(settings),
        clock=clock,
        config=config or CatalogSettings.from_env(),
    )
