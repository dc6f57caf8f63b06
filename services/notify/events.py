"""Events the notify service publishes and the handlers its worker runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import Consumer, Envelope, Names, PermanentError
from services.core.config import ServiceSettings
from services.core.contracts.notify import NOTIFY_SEND, PUBLISHED_EVENTS
from services.notify import SERVICE
from services.notify.config import NotifySettings
from services.notify.context import NotifyContext
from services.notify.delivery import CommandError, accept, is_otp
from services.notify.dispatcher import Dispatcher

log = logging.getLogger(__name__)

__all__ = ["CONSUMED_COMMANDS", "PUBLISHED_EVENTS", "build_consumer"]
CONSUMED_COMMANDS = (NOTIFY_SEND,)


def build_consumer(
    ctx: NotifyContext, dispatcher: Dispatcher, *, names: Names | None = None
) -> Consumer:
    """The service's consumer with every handler registered."""
    return _consumer(ctx.settings, ctx.sessions, ctx.notify, dispatcher, ctx.clock, names)


def _consumer(
    settings: ServiceSettings,
    sessions: sessionmaker[Session],
    notify_settings: NotifySettings,
    dispatcher: Dispatcher,
    clock: Callable[[], datetime],
    names: Names | None,
) -> Consumer:
    consumer = Consumer(SERVICE, sessions, settings.bus, names=names)

    @consumer.on_command(NOTIFY_SEND)
    def accept_send_command(session: Session, envelope: Envelope) -> None:
        now = clock()
        try:
            created = accept(session, envelope, notify_settings, now)
        except CommandError as exc:
            # Never the personalisation: it may hold an OTP code.
            raise PermanentError(f"notify.send refused: {exc}") from exc
        urgent: list[str] = []
        other: list[str] = []
        for notification in created:
            if dispatcher.is_local(notification.channel):
                dispatcher.complete_locally(session, notification, now)
            else:
                (urgent if is_otp(notification.template) else other).append(notification.id)
        if urgent or other:
            # Attempt right away, OTPs first, but only once the notifications are committed.
            def wake(_session: Session) -> None:
                dispatcher.wake(urgent, urgent=True)
                dispatcher.wake(other)

            event.listen(session, "after_commit", wake, once=True)

    return consumer
