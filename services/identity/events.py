"""Events the identity service publishes and the handlers its worker runs.

Events carry ids, statuses and masked values only: never an OTP code, a password,
a token or a full phone number.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.consumer import Consumer
from services.core.config import ServiceSettings
from services.identity import SERVICE

ACCOUNT_REGISTERED = "identity.account.registered"
PHONE_CHANGED = "identity.phone.changed"
PUBLISHED_EVENTS = (ACCOUNT_REGISTERED, PHONE_CHANGED)


def build_consumer(settings: ServiceSettings, sessions: sessionmaker[Session]) -> Consumer:
    """The service's consumer: identity handles no events (nothing required)."""
    return Consumer(SERVICE, sessions, settings.bus)
