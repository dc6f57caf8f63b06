"""The delivery loop of the worker: attempts due notifications, outside long transactions.

Each attempt is three steps: claim (a short transaction moves the notification to
`sending`, counts the attempt and takes a lease), the provider call (no transaction
open), and finish (a short transaction records the outcome, moves the state and writes
the outcome event into the outbox). Fresh notifications are handed over the moment the
command's transaction commits (`wake`); a poll every `poll_interval` picks up retries
that came due and notifications whose worker was lost during a send (expired lease).

OTPs go first: the hand-over queue and the poll both put them ahead of status messages.
An OTP found unsent past `otp_max_age` ends `technical-failure / expired` without a
provider call, and an OTP is retried only while the retry still falls within that age.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from itertools import count
from typing import cast

from sqlalchemy import case, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import utcnow
from services.core.db import transaction
from services.notify.config import NotifySettings
from services.notify.delivery import (
    DELIVERED,
    DUE,
    OTP_TEMPLATES,
    PERMANENT_FAILURE,
    REASON_EXPIRED,
    REASON_REJECTED,
    REASON_RETRIES_EXHAUSTED,
    SENDING,
    TECHNICAL_FAILURE,
    TEMPORARY_FAILURE,
    is_otp,
    move,
    record_outcome_event,
)
from services.notify.models import DeliveryAttempt, Notification
from services.notify.providers import LocalProvider, Message, Outcome, Provider, Result

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

URGENT, NORMAL, STOP = 0, 1, 2  # hand-over priorities: OTPs, everything else, the end


def notification_attempt(session: Session, notification_id: str, number: int) -> DeliveryAttempt:
    return session.scalars(
        select(DeliveryAttempt).where(
            DeliveryAttempt.notification_id == notification_id,
            DeliveryAttempt.number == number,
        )
    ).one()


class Dispatcher:
    """Sends notifications through their channel's provider, with retries."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        providers: dict[str, Provider],
        settings: NotifySettings,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions = sessions
        self.providers = providers
        self.settings = settings
        self.clock = clock
        self._queue: queue.PriorityQueue[tuple[int, int, str | None]] = queue.PriorityQueue()
        self._order = count()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._running = threading.Event()
        self._threads: list[threading.Thread] = []
        self.attempted_total = 0

    # -- one notification -----------------------------------------------------------------

    def _start(
        self, session: Session, notification_id: str, now: datetime
    ) -> tuple[Notification, DeliveryAttempt, Message, Provider] | str | None:
        """Under a row lock: move a due notification to `sending` and open an attempt;
        an OTP too old to be of use ends here instead (its final status is returned)."""
        notification = session.get(Notification, notification_id, with_for_update=True)
        if notification is not None and self._expire_if_late(session, notification, now):
            return notification.status
        return self._begin_attempt(session, notification, now)

    def _too_late(self, notification: Notification, when: datetime) -> bool:
        """True when an OTP sent at `when` would arrive after it is of any use."""
        age = (when - notification.created_at).total_seconds()
        return is_otp(notification.template) and age > self.settings.otp_max_age

    def _expire_if_late(self, session: Session, notification: Notification, now: datetime) -> bool:
        if (
            notification.status not in DUE
            or notification.next_attempt_at is None
            or notification.next_attempt_at > now
            or not self._too_late(notification, now)
        ):
            return False
        notification.failure_reason = REASON_EXPIRED
        move(notification, TECHNICAL_FAILURE, now)
        record_outcome_event(session, notification)
        log.warning(
            "OTP notification expired unsent",
            extra={"notification_id": notification.id, "attempts": notification.attempts},
        )
        return True

    def _begin_attempt(
        self, session: Session, notification: Notification | None, now: datetime
    ) -> tuple[Notification, DeliveryAttempt, Message, Provider] | None:
        if (
            notification is None
            or notification.status not in DUE
            or notification.next_attempt_at is None
            or notification.next_attempt_at > now
            or notification.to is None
        ):
            return None
        provider = self.providers[notification.channel]
        move(notification, SENDING, now)
        notification.attempts += 1
        notification.lease_until = now + timedelta(seconds=self.settings.sending_lease)
        attempt = DeliveryAttempt(
            notification_id=notification.id,
            number=notification.attempts,
            provider=provider.name,
            started_at=now,
        )
        session.add(attempt)
        message = Message(
            notification_id=notification.id,
            channel=notification.channel,
            to=notification.to,
            subject=notification.subject,
            body=notification.body,
            html=notification.html,
            template=notification.template,
            reference=notification.reference,
        )
        return notification, attempt, message, provider

    def is_local(self, channel: str) -> bool:
        return bool(getattr(self.providers.get(channel), "local", False))

    def complete_locally(self, session: Session, notification: Notification, now: datetime) -> str:
        """Deliver a notification created in this transaction through a local provider:
        the inbox message commits with the command, with no second transaction."""
        started = self._begin_attempt(session, notification, now)
        if started is None:
            raise RuntimeError(f"notification {notification.id} is not due")
        notification, attempt, message, provider = started
        outcome = cast(LocalProvider, provider).store(session, message)
        attempt.finished_at = now
        attempt.outcome = outcome.result
        attempt.provider_reference = outcome.provider_reference
        self._apply(session, notification, outcome.result, now)
        return notification.status

    def _claim(self, notification_id: str) -> tuple[Message, int, Provider] | str | None:
        """Start an attempt. A local provider (inbox, dev outbox) only writes to our own
        database, so it completes in this same transaction: the final status is returned.
        Otherwise the message to hand to the provider once the transaction is committed."""
        now = self.clock()
        with transaction(self.sessions) as session:
            started = self._start(session, notification_id, now)
            if started is None or isinstance(started, str):
                return started
            notification, attempt, message, provider = started
            if not getattr(provider, "local", False):
                return message, notification.attempts, provider
            outcome = cast(LocalProvider, provider).store(session, message)
            attempt.finished_at = now
            attempt.outcome = outcome.result
            attempt.provider_reference = outcome.provider_reference
            self._apply(session, notification, outcome.result, now)
            return notification.status

    def _finish(self, notification_id: str, number: int, outcome: Outcome) -> str | None:
        now = self.clock()
        with transaction(self.sessions) as session:
            notification = session.get(Notification, notification_id, with_for_update=True)
            if notification is None:
                return None
            attempt = notification_attempt(session, notification_id, number)
            attempt.finished_at = now
            attempt.outcome = outcome.result
            attempt.error = outcome.error
            attempt.provider_reference = outcome.provider_reference
            if notification.status != SENDING or notification.attempts != number:
                return None  # the lease expired and another attempt took over
            self._apply(session, notification, outcome.result, now)
            return notification.status

    def _apply(
        self, session: Session, notification: Notification, result: str, now: datetime
    ) -> None:
        if result == Result.DELIVERED:
            move(notification, DELIVERED, now)
        elif result == Result.PERMANENT:
            notification.failure_reason = REASON_REJECTED
            move(notification, PERMANENT_FAILURE, now)
        else:
            move(notification, TEMPORARY_FAILURE, now)
            retry_at = None
            if notification.attempts < self.settings.max_attempts:
                delay = self.settings.retry_delays[notification.attempts - 1]
                retry_at = now + timedelta(seconds=delay)
            if retry_at is None or self._too_late(notification, retry_at):
                # Out of tries, or (an OTP) out of time for another one.
                notification.failure_reason = REASON_RETRIES_EXHAUSTED
                move(notification, TECHNICAL_FAILURE, now)
            else:
                notification.next_attempt_at = retry_at
                notification.lease_until = None
        if notification.status in (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE):
            record_outcome_event(session, notification)

    def deliver(self, notification_id: str) -> str | None:
        """One attempt if the notification is due; its status afterwards (None: not due)."""
        claimed = self._claim(notification_id)
        if claimed is None or isinstance(claimed, str):
            if claimed is not None:
                self.attempted_total += 1
                log.info(
                    "notification finished without a provider call",
                    extra={"notification_id": notification_id, "status": claimed},
                )
            return claimed
        message, number, provider = claimed
        try:
            outcome = provider.send(message)
        except Exception as exc:
            # A provider bug is not the citizen's fault: retry as for an outage.
            log.exception("provider %s raised", provider.name)
            outcome = Outcome(Result.TEMPORARY, f"provider error: {type(exc).__name__}")
        self.attempted_total += 1
        status = self._finish(notification_id, number, outcome)
        log.info(
            "notification attempt finished",
            extra={
                "notification_id": notification_id,
                "attempt": number,
                "provider": provider.name,
                "outcome": str(outcome.result),
                "status": status,
            },
        )
        return status

    # -- finding work -----------------------------------------------------------------------

    def due(self, limit: int | None = None) -> list[tuple[str, bool]]:
        """(id, is an OTP) of the notifications whose next attempt is due: OTPs first,
        then oldest first."""
        now = self.clock()
        otp = Notification.template.in_(sorted(OTP_TEMPLATES))
        with self.sessions() as session:
            rows = session.execute(
                select(Notification.id, Notification.template)
                .where(Notification.status.in_(DUE), Notification.next_attempt_at <= now)
                .order_by(case((otp, URGENT), else_=NORMAL), Notification.next_attempt_at)
                .limit(limit or self.settings.poll_batch_size)
            ).all()
        return [(row.id, is_otp(row.template)) for row in rows]

    def due_ids(self, limit: int | None = None) -> list[str]:
        """Notifications whose next attempt is due: OTPs first, then oldest first."""
        return [notification_id for notification_id, _ in self.due(limit)]

    def recover_lost(self) -> int:
        """Notifications left `sending` by a lost worker become due again."""
        now = self.clock()
        recovered = 0
        with transaction(self.sessions) as session:
            lost = session.scalars(
                select(Notification)
                .where(Notification.status == SENDING, Notification.lease_until < now)
                .limit(self.settings.poll_batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            for notification in lost:
                attempt = notification_attempt(session, notification.id, notification.attempts)
                if attempt.finished_at is None:
                    attempt.finished_at = now
                    attempt.outcome = "lost"
                    attempt.error = "worker lost during the attempt"
                self._apply(session, notification, Result.TEMPORARY, now)
                if notification.status == TEMPORARY_FAILURE:
                    notification.next_attempt_at = now
                recovered += 1
        if recovered:
            log.warning("recovered notifications from lost attempts", extra={"count": recovered})
        return recovered

    # -- the loop ---------------------------------------------------------------------------

    def wake(self, notification_ids: Iterable[str], *, urgent: bool = False) -> None:
        """Attempt these now (called after the command's transaction committed); urgent
        ones (OTPs) go ahead of every other waiting notification."""
        priority = URGENT if urgent else NORMAL
        with self._lock:
            for notification_id in notification_ids:
                if notification_id not in self._queued:
                    self._queued.add(notification_id)
                    self._queue.put((priority, next(self._order), notification_id))

    def wake_due(self) -> None:
        """Hand over every due notification, OTPs marked urgent."""
        due = self.due()
        self.wake([i for i, otp in due if otp], urgent=True)
        self.wake([i for i, otp in due if not otp])

    def _work(self) -> None:
        while True:
            _priority, _order, notification_id = self._queue.get()
            if notification_id is None:
                return
            if self._stopping.is_set():
                continue  # still created or due in the database: found again at start
            with self._lock:
                self._queued.discard(notification_id)
            try:
                self.deliver(notification_id)
            except Exception:
                # The poll finds it again; the loop must survive a database hiccup.
                log.exception("delivery failed", extra={"notification_id": notification_id})

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def run(self) -> None:
        """Delivery threads plus the poll, until stop()."""
        self._threads = [
            threading.Thread(target=self._work, name=f"notify-delivery-{i}", daemon=True)
            for i in range(self.settings.delivery_threads)
        ]
        for thread in self._threads:
            thread.start()
        self._running.set()
        try:
            while not self._stopping.is_set():
                try:
                    self.recover_lost()
                    self.wake_due()
                except Exception:
                    log.exception("delivery poll failed")
                self._stopping.wait(self.settings.poll_interval)
        finally:
            self._running.clear()
            for _ in self._threads:
                self._queue.put((STOP, next(self._order), None))
            for thread in self._threads:
                thread.join(timeout=self.settings.sms_gateway_timeout + 10)

    def stop(self) -> None:
        self._stopping.set()
