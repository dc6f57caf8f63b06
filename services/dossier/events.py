"""Events the dossier service publishes and the handlers its worker runs."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.consumer import Consumer
from services.core.config import ServiceSettings
from services.dossier import SERVICE


def build_consumer(settings: ServiceSettings, sessions: sessionmaker[Session]) -> Consumer:
    """The service's consumer with every handler registered."""
    return Consumer(SERVICE, sessions, settings.bus)
