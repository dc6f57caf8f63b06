"""Writing events and commands into the outbox, inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.core.bus.envelope import Envelope
from services.core.bus.models import OutboxMessage
from services.core.bus.postgresql import notify_on_commit
from services.core.clock import utcnow
from services.core.context import causation_id_var, correlation_id_var

EVENT = "event"
COMMAND = "command"
SESSION_INFO_KEY = "outbox"


@dataclass(frozen=True)
class OutboxContext:
    """Who is writing: set once per service in its session factory's `info`."""

    source: str
    province: str = ""


def _context(session: Session) -> OutboxContext:
    ctx = session.info.get(SESSION_INFO_KEY)
    if not isinstance(ctx, OutboxContext):
        raise RuntimeError(
            "session has no OutboxContext: build it with make_session_factory(engine, "
            "outbox=OutboxContext(...))"
        )
    return ctx


def _add(
    session: Session,
    kind: str,
    message_type: str,
    data: dict[str, Any],
    *,
    subject: str | None,
    routing_key: str | None,
) -> Envelope:
    ctx = _context(session)
    envelope = Envelope(
        type=message_type,
        data=data,
        source=ctx.source,
        province=ctx.province,
        correlation_id=correlation_id_var.get(),
        causation_id=causation_id_var.get(),
        subject=subject,
    )
    envelope.validate()
    now = utcnow()
    session.add(
        OutboxMessage(
            message_id=envelope.id,
            kind=kind,
            type=message_type,
            routing_key=routing_key or message_type,
            subject=subject,
            correlation_id=envelope.correlation_id,
            body=envelope.to_body().decode(),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        notify_on_commit(session)  # wake the relays when this transaction commits
    return envelope


def record_event(
    session: Session, event_type: str, data: dict[str, Any], *, subject: str | None = None
) -> Envelope:
    """Add an event for `portal.events` to the caller's transaction.

    It is published after the transaction commits and never if it rolls back. `data`
    must hold no personal contact data or secret: anyone may read this exchange.
    """
    return _add(session, EVENT, event_type, data, subject=subject, routing_key=None)


def send_command(
    session: Session,
    command_type: str,
    data: dict[str, Any],
    *,
    subject: str | None = None,
) -> Envelope:
    """Add a command for `portal.commands` (routing key = command type) to the transaction."""
    return _add(session, COMMAND, command_type, data, subject=subject, routing_key=None)
