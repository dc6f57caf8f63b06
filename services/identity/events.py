"""Events the identity service publishes and the handlers its worker runs.

Events carry ids, statuses and masked values only: never an OTP code, a password,
a token or a full phone number.

Consumed (queue `identity.events`): notify's `notify.notification.delivered` and
`.failed`, to follow whether each OTP's SMS arrived (see `otp.record_delivery`).
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from services.core.bus import Consumer, Envelope, Names
from services.core.contracts.notify import EVENT_DELIVERED as NOTIFICATION_DELIVERED
from services.core.contracts.notify import EVENT_FAILED as NOTIFICATION_FAILED
from services.identity import SERVICE
from services.identity.context import IdentityContext
from services.identity.otp import record_delivery

log = logging.getLogger(__name__)


def on_notification_outcome(session: Session, envelope: Envelope) -> None:
    """Set the delivery state of the OTP whose `notify.send` this was; ignore the rest."""
    command_id = envelope.data.get("command_id")
    if not isinstance(command_id, str) or not command_id:
        return
    delivered = envelope.type == NOTIFICATION_DELIVERED
    reason = envelope.data.get("reason")
    if record_delivery(session, command_id, delivered, reason if isinstance(reason, str) else None):
        log.info("OTP delivery %s (%s)", "delivered" if delivered else "failed", reason or "-")


def build_consumer(ctx: IdentityContext, *, names: Names | None = None) -> Consumer:
    """The service's consumer: notify's delivery outcomes of identity's OTPs."""
    consumer = Consumer(SERVICE, ctx.sessions, ctx.settings.bus, names=names)
    consumer.on_event(NOTIFICATION_DELIVERED)(on_notification_outcome)
    consumer.on_event(NOTIFICATION_FAILED)(on_notification_outcome)
    return consumer
