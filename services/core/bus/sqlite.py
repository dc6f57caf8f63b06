"""The bus on SQLite: one relay per database (a lease), claiming outbox rows with a read,
marking them in a transaction of their own, a WAL watcher to wake the relay, and the
inbox insert.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.claims import Claim, PendingMessage
from services.core.bus.models import InboxMessage, OutboxMessage, RelayLease
from services.core.clock import utcnow
from services.core.db import READ_ONLY, URGENT_WRITE

LEASE_NAME = "outbox"
_MARK_CHUNK = 900  # seqs per UPDATE: below SQLite's oldest limit of bound variables


class SqliteClaim(Claim):
    """SQLite: the lease keeps other relays off, and holding the write lock while waiting
    for confirms would stall every writer, so the rows are marked in a transaction of their
    own."""

    def __init__(self, session_factory: sessionmaker[Session], rows: list[PendingMessage]) -> None:
        self._session_factory = session_factory
        self.rows = rows

    def finish(self, published: list[int], failed: dict[int, str], max_backoff: float) -> None:
        self.finish_together(self._session_factory, [(self, published, failed)], max_backoff)

    @staticmethod
    def finish_together(
        session_factory: sessionmaker[Session],
        outcomes: list[tuple[SqliteClaim, list[int], dict[int, str]]],
        max_backoff: float,
    ) -> None:
        """The marks of several batches in one transaction: one wait for the write lock."""
        now = utcnow()
        with session_factory() as session:
            # Urgent: later rows of these subjects wait for this mark, and a busy web
            # process would otherwise win the write lock again and again.
            session.connection(execution_options=URGENT_WRITE)
            published = [seq for _, done, _ in outcomes for seq in done]
            for start in range(0, len(published), _MARK_CHUNK):
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.seq.in_(published[start : start + _MARK_CHUNK]))
                    .values(published_at=now, attempts=OutboxMessage.attempts + 1, last_error=None)
                )
            for claim, _, failed in outcomes:
                for attempts, error, retry_at, seq in claim._failures(failed, max_backoff, now):
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.seq == seq)
                        .values(attempts=attempts, last_error=error, next_attempt_at=retry_at)
                    )
            session.commit()

    def release(self) -> None:
        return None  # nothing was written or locked


class Lease:
    """Only the holder of the lease relays a SQLite database. Renewed at half its life."""

    def __init__(self, session_factory: sessionmaker[Session], seconds: float) -> None:
        self.session_factory = session_factory
        self.holder = uuid.uuid4().hex
        self.seconds = seconds
        self._until: datetime | None = None

    def hold(self) -> bool:
        now = utcnow()
        if self._until is not None and now < self._until - timedelta(seconds=self.seconds / 2):
            return True
        until = now + timedelta(seconds=self.seconds)
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
                    self._until = None
                    return False
                session.add(RelayLease(name=LEASE_NAME, holder=self.holder, expires_at=until))
            try:
                session.commit()
            except IntegrityError:
                self._until = None
                return False
        self._until = until
        return True

    def release(self) -> None:
        if self._until is None:
            return
        with self.session_factory() as session:
            session.execute(
                update(RelayLease)
                .where(RelayLease.name == LEASE_NAME, RelayLease.holder == self.holder)
                .values(expires_at=utcnow())
            )
            session.commit()
        self._until = None


def claim(
    engine: Engine,
    session_factory: sessionmaker[Session],
    limit: int,
    exclude: set[int],
    busy: set[str],
) -> Claim | None:
    """Due rows in seq order, but the ones in `exclude`, and only the first of each subject
    not `busy` (see first_of_each_subject_alone)."""
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
        .where(m.published_at.is_(None), m.next_attempt_at <= now)
        .order_by(m.seq)
        .limit(limit + len(exclude))
    )
    # A read: it must not take the write lock every producer needs.
    with engine.connect().execution_options(**READ_ONLY) as connection:
        rows = [
            PendingMessage(seq, mid, kind, type_, key, subject, corr, body.encode(), attempts)
            for seq, mid, kind, type_, key, corr, subject, body, attempts in connection.execute(
                query
            )
            if seq not in exclude
        ][:limit]
        if not rows:
            return None
        eligible = first_of_each_subject_alone(connection, rows, busy, now)
    if not eligible:
        return None
    return SqliteClaim(session_factory, eligible)


def first_of_each_subject_alone(
    connection: Connection, rows: list[PendingMessage], busy: set[str], now: datetime
) -> list[PendingMessage]:
    """The subject rule for the only relay of a database (SQLite), mostly in memory.

    An earlier unpublished row of a subject is either in flight here (`busy`), among
    the due rows just read (which come in seq order), or backing off after a failure.
    """
    backing_off = set(
        connection.scalars(
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


class SqliteWalWatcher:
    """Tells whether the database's WAL file changed since the last look (any commit
    changes it, and a stat() of it costs microseconds)."""

    def __init__(self, database_path: str) -> None:
        self.path = database_path + "-wal"
        self._last: tuple[int, int] | None = None

    def changed(self) -> bool:
        try:
            stat = os.stat(self.path)
            current = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            current = (0, 0)
        if current == self._last:
            return False
        self._last = current
        return True


def record_in_inbox(session: Session, values: list[dict[str, Any]]) -> set[str]:
    """Insert inbox rows, skipping ids already there; the ids inserted."""
    statement = (
        insert(InboxMessage)
        .values(values)
        .on_conflict_do_nothing()
        .returning(InboxMessage.message_id)
    )
    return set(session.scalars(statement))
