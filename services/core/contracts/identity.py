"""The identity service's contract: the events it publishes on `portal.events`.

Events carry ids, statuses and masked values only: never an OTP code, a password,
a token or a full phone number.
"""

from __future__ import annotations

from services.core.contracts.message import Message, event

SERVICE = "identity"

ACCOUNT_REGISTERED = "identity.account.registered"
PHONE_CHANGED = "identity.phone.changed"
PUBLISHED_EVENTS = (ACCOUNT_REGISTERED, PHONE_CHANGED)

MESSAGES: tuple[Message, ...] = (
    event(
        ACCOUNT_REGISTERED,
        SERVICE,
        "the account id",
        ("account_id", "registration_id", "verification_level", "phone_masked", "roles"),
    ),
    event(
        PHONE_CHANGED,
        SERVICE,
        "the account id",
        ("account_id", "phone_masked", "previous_phone_masked"),
    ),
)
