"""The relay's view of the outbox table: claim pending rows, mark them, prune them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    String,
    any_,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeEngine

from services.core.bus.envelope import utcnow
from services.core.bus.models import OutboxMessage, RelayLease
from services.core.db import is_postgresql

LEASE_NAME = "outbox"


@dataclass(slots=True)
class PendingMessage:
    """A claimed outbox row, detached from the session that read it."""

    seq: int
    message_id: str
    kind: str
    type: str
    routing_key: str
    subject: str | None
    correlation_id: str | None
    body: bytes
    attempts: int


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_pending_age: float | None
    failing: int
    published: int


def backoff_delay(attempts: int, maximum: float) -> float:
    """Seconds to wait before the next try of a row that failed `attempts` times."""
    return float(min(maximum, 0.5 * 2 ** max(0, attempts - 1)))


def array_param(name: str, values: list[Any], item_type: TypeEngine[Any]) -> BindParameter[Any]:
    """One PostgreSQL array parameter instead of one parameter per value."""
    return bindparam(name, value=values, type_=ARRAY(item_type))


def seq_in(session: Session, seqs: list[int]) -> ColumnElement[bool]:
    if is_postgresql(session):
        return OutboxMessage.seq == any_(array_param("seqs", seqs, BigInteger()))
    return OutboxMessage.seq.in_(seqs)


class Claim:
    """Rows one relay holds while it publishes them; finish() or release() ends it.

    On PostgreSQL the claiming transaction stays open so its row locks keep other relays
    off these rows. On SQLite the lease already does that, and holding the write lock
    while waiting for confirms would stall every writer, so the rows are marked in a
    transaction of their own.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        session: Session | None,
        rows: list[PendingMessage],
    ) -> None:
        self.session = session if session is not None else session_factory()
        self._fresh = session is None
        self.rows = rows

    def finish(self, published: list[int], failed: dict[int, str], max_backoff: float) -> None:
        """Mark confirmed rows published and failed rows for a later try, then commit."""
        now = utcnow()
        try:
            if is_postgresql(self.session):
                # Losing this mark in a crash only republishes rows consumers already dedupe,
                # so it need not wait for the disk.
                self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            if published:
                self.session.execute(
                    update(OutboxMessage)
                    .where(seq_in(self.session, published))
                    .values(published_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
                )
            by_seq = {row.seq: row for row in self.rows}
            for seq, error in failed.items():
                attempts = by_seq[seq].attempts + 1
                self.session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.seq == seq)
                    .values(
                        attempts=attempts,
                        last_error=error[:2000],
                        next_attempt_at=now
                        + timedelta(seconds=backoff_delay(attempts, max_backoff)),
                    )
                )
            self.session.commit()
        finally:
            self.session.close()

    def release(self) -> None:
        """Give the rows back untouched (the broker went away mid-batch)."""
        try:
            self.session.rollback()
        finally:
            self.session.close()


class OutboxStore:
    """Claims due rows in order, one row per subject at a time, so order per aggregate holds."""

    def __init__(self, session_factory: sessionmaker[Session], lease_seconds: float = 15.0) -> None:
        self.session_factory = session_factory
        self.holder = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self._lease_until: datetime | None = None
        with session_factory() as session:
            self.postgresql = is_postgresql(session)

    def _hold_lease(self) -> bool:
        """SQLite: only the holder of the lease relays. Renewed at half its life."""
        now = utcnow()
        if self._lease_until is not None and now < self._lease_until - timedelta(
            seconds=self.lease_seconds / 2
        ):
            return True
        until = now + timedelta(seconds=self.lease_seconds)
        with self.session_factory() as session:
            result = session.execute(
                update(RelayLease)
                .where(RelayLease.name == LEASE_NAME)
                .where((RelayLease.holder == self.holder) | (RelayLease.expires_at < now))
                .values(holder=self.holder, expires_at=until)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                exists = session.get(RelayLease, LEASE_NAME)
                if exists is not None:
                    session.rollback()
                    self._lease_until = None
                    return False
                session.add(RelayLease(name=LEASE_NAME, holder=self.holder, expires_at=until))
            try:
                session.commit()
            except IntegrityError:
                self._lease_until = None
                return False
        self._lease_until = until
        return True

    def release_lease(self) -> None:
        if self.postgresql or self._lease_until is None:
            return
        with self.session_factory() as session:
            session.execute(
                update(RelayLease)
                .where(RelayLease.name == LEASE_NAME, RelayLease.holder == self.holder)
                .values(expires_at=utcnow())
            )
            session.commit()
        self._lease_until = None

    def claim(
        self,
        limit: int,
        exclude: set[int] | None = None,
        busy_subjects: set[str] | None = None,
    ) -> Claim | None:
        """Lock up to `limit` due rows; None if there is nothing to do.

        `exclude` are the seqs and `busy_subjects` the subjects of this relay's rows in
        flight; those rows and any later row of those subjects are left alone.
        """
        exclude = exclude or set()
        if not self.postgresql and not self._hold_lease():
            return None
        session = self.session_factory()
        try:
            now = utcnow()
            m = OutboxMessage
            query = (
                select(
                    m.seq,
                    m.message_id,
                    m.kind,
                    m.type,
                    m.routing_key,
                    m.correlation_id,
                    m.subject,
                    m.body,
                    m.attempts,
                )
                .where(OutboxMessage.published_at.is_(None), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.seq)
                .limit(limit if self.postgresql else limit + len(exclude))
            )
            if self.postgresql:
                # Rows in flight are locked by their own claim's transaction: skipped here.
                query = query.with_for_update(skip_locked=True)
            rows = [
                PendingMessage(seq, mid, kind, type_, key, subject, corr, body.encode(), attempts)
                for seq, mid, kind, type_, key, corr, subject, body, attempts in session.execute(
                    query
                )
                if seq not in exclude
            ][:limit]
            if not rows:
                session.rollback()
                session.close()
                return None
            if self.postgresql:
                eligible = self._first_of_each_subject(session, rows)
            else:
                eligible = self._first_of_each_subject_alone(
                    session, rows, busy_subjects or set(), now
                )
            pending = eligible
        except BaseException:
            session.rollback()
            session.close()
            raise
        if not pending or not self.postgresql:
            session.rollback()
            session.close()
        if not pending:
            return None
        return Claim(self.session_factory, session if self.postgresql else None, pending)

    @staticmethod
    def _first_of_each_subject(session: Session, rows: list[Any]) -> list[Any]:
        """Keep a row only if no earlier row of its subject is still unpublished anywhere."""
        subjects = {row.subject for row in rows if row.subject is not None}
        if not subjects:
            return rows
        first: dict[str, int] = {}
        for chunk_start in range(0, len(subjects), 500):
            chunk = sorted(subjects)[chunk_start : chunk_start + 500]
            rows_min = session.execute(
                select(OutboxMessage.subject, func.min(OutboxMessage.seq))
                .where(
                    OutboxMessage.published_at.is_(None),
                    OutboxMessage.subject == any_(array_param("subjects", chunk, String())),
                )
                .group_by(OutboxMessage.subject)
            )
            first.update({subject: seq for subject, seq in rows_min if subject is not None})
        return [row for row in rows if row.subject is None or first.get(row.subject) == row.seq]

    @staticmethod
    def _first_of_each_subject_alone(
        session: Session, rows: list[Any], busy: set[str], now: datetime
    ) -> list[Any]:
        """The same rule for the only relay of a database (SQLite), mostly in memory.

        An earlier unpublished row of a subject is either in flight here (`busy`), among
        the due rows just read (which come in seq order), or backing off after a failure.
        """
        backing_off = set(
            session.scalars(
                select(OutboxMessage.subject)
                .where(
                    OutboxMessage.published_at.is_(None),
                    OutboxMessage.next_attempt_at > now,
                    OutboxMessage.subject.is_not(None),
                )
                .distinct()
            )
        )
        blocked = busy | backing_off
        eligible = []
        for row in rows:
            if row.subject is not None:
                if row.subject in blocked:
                    continue
                blocked.add(row.subject)
            eligible.append(row)
        return eligible

    def prune(self, older_than: timedelta, chunk: int = 5000) -> int:
        """Delete published rows older than the retention; returns how many went."""
        cutoff = utcnow() - older_than
        removed = 0
        while True:
            with self.session_factory() as session:
                seqs = list(
                    session.scalars(
                        select(OutboxMessage.seq)
                        .where(OutboxMessage.published_at < cutoff)
                        .limit(chunk)
                    )
                )
                if not seqs:
                    return removed
                session.execute(delete(OutboxMessage).where(OutboxMessage.seq.in_(seqs)))
                session.commit()
                removed += len(seqs)

    def status(self) -> OutboxStatus:
        with self.session_factory() as session:
            pending, oldest = session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.published_at.is_(None)
                )
            ).one()
            failing = session.scalar(
                select(func.count()).where(
                    OutboxMessage.published_at.is_(None), OutboxMessage.last_error.is_not(None)
                )
            )
            published = session.scalar(
                select(func.count()).where(OutboxMessage.published_at.is_not(None))
            )
        age = None
        if oldest is not None:
            if oldest.tzinfo is None:  # aggregate results bypass the column type on SQLite
                oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=utcnow().tzinfo)
            age = (utcnow() - oldest).total_seconds()
        return OutboxStatus(int(pending), age, int(failing or 0), int(published or 0))
