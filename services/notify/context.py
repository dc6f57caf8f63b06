"""The notify service's context: what its web app, its worker and `manage` share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.core.auth import TokenVerifier, verifier_for
from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceContext, ServiceDatabase
from services.notify import SERVICE
from services.notify import problems as _problems  # noqa: F401 - registers the codes
from services.notify.config import NotifySettings
from services.notify.dispatcher import Dispatcher
from services.notify.providers import Provider, build_providers

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class NotifyContext(ServiceContext):
    """Core's context plus notify's own settings (providers, caps, schedules)."""

    notify: NotifySettings

    def providers(self) -> dict[str, Provider]:
        """The provider of each channel, as configured."""
        return build_providers(self.notify, self.sessions)

    def dispatcher(self, providers: dict[str, Provider] | None = None) -> Dispatcher:
        """The delivery loop of the worker (a new one on each call)."""
        return Dispatcher(
            self.sessions,
            self.providers() if providers is None else providers,
            self.notify,
            clock=self.clock,
        )


def build_context(
    settings: ServiceSettings | None = None,
    notify_settings: NotifySettings | None = None,
    *,
    database: ServiceDatabase | None = None,
    verifier: TokenVerifier | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> NotifyContext:
    """Read the settings (refusing a configuration that must never run) and open the
    database; each piece may be given instead, as tests do."""
    settings = settings or ServiceSettings.from_env(SERVICE)
    notify = (notify_settings or NotifySettings.from_env()).check()
    return NotifyContext(
        settings=settings,
        database=database or ServiceDatabase.open(settings),
        verifier=verifier or verifier_for(settings),
        clock=clock,
        notify=notify,
    )
