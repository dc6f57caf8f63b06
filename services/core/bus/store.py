"""The relay's view of the outbox table: claim pending rows, mark them, prune them."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from services.core.bus.models import OutboxMessage, RelayLease
from services.core.clock import utcnow
from services.core.db import READ_ONLY, URGENT_WRITE, is_postgresql

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


_CLAIM_POSTGRESQL = """
SELECT o.seq, o.message_id, o.kind, o.type, o.routing_key, o.correlation_id, o.subject,
       o.body, o.attempts
FROM outbox o
WHERE o.published_at IS NULL AND o.next_attempt_at <= %(now)s
  AND (o.subject IS NULL OR NOT EXISTS (
      SELECT 1 FROM outbox e
      WHERE e.subject = o.subject AND e.published_at IS NULL AND e.seq < o.seq))
ORDER BY o.next_attempt_at, o.seq
LIMIT %(limit)s
FOR UPDATE OF o SKIP LOCKED
"""
_MARK_PUBLISHED = (
    "UPDATE outbox SET published_at = %s, attempts = attempts + 1, last_error = NULL "
    "WHERE seq = ANY(%s)"
)
_MARK_FAILED = (
    "UPDATE outbox SET attempts = %s, last_error = %s, next_attempt_at = %s WHERE seq = %s"
)


def _naive_utc(moment: datetime) -> datetime:
    """The form UtcDateTime stores, for statements that bypass the column type."""
    return moment.astimezone(UTC).replace(tzinfo=None)


class Claim:
    """Rows one relay holds while it publishes them; finish() or release() ends it."""

    rows: list[PendingMessage]

    def finish(self, published: list[int], failed: dict[int, str], max_backoff: float) -> None:
        """Mark confirmed rows published and failed rows for a later try, then commit."""
        raise NotImplementedError

    def release(self) -> None:
        """Give the rows back untouched (the broker went away mid-batch)."""
        raise NotImplementedError

    def _failures(
        self, failed: dict[int, str], max_backoff: float, now: datetime
    ) -> list[tuple[int, str, datetime, int]]:
        by_seq = {row.seq: row for row in self.rows}
        marks = []
        for seq, error in failed.items():
            attempts = by_seq[seq].attempts + 1
            retry_at = now + timedelta(seconds=backoff_delay(attempts, max_backoff))
            marks.append((attempts, error[:2000], retry_at, seq))
        return marks


class PostgresClaim(Claim):
    """PostgreSQL: the claiming transaction stays open, so its row locks keep other relays
    off these rows (and off later rows of their subjects); finish() commits it.

    It is a raw psycopg connection: the claim is one statement and the marks one pipelined
    round trip, and the marks may run on another thread than the next claim.
    """

    def __init__(
        self, raw: PoolProxiedConnection, rows: list[PendingMessage], connections: _Connections
    ) -> None:
        self._raw = raw
        self.rows = rows
        self._connections = connections

    def finish(self, published: list[int], failed: dict[int, str], max_backoff: float) -> None:
        now = utcnow()
        connection: Any = self._raw.driver_connection
        try:
            with connection.pipeline(), connection.cursor() as cursor:
                # Losing this mark in a crash only republishes rows consumers already dedupe,
                # so it need not wait for the disk.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                if published:
                    cursor.execute(_MARK_PUBLISHED, (_naive_utc(now), published))
                failures = self._failures(failed, max_backoff, now)
                if failures:
                    cursor.executemany(
                        _MARK_FAILED, [(a, e, _naive_utc(at), s) for a, e, at, s in failures]
                    )
                connection.commit()
        except BaseException:
            self._connections.discard(self._raw)
            raise
        self._connections.give_back(self._raw)

    def release(self) -> None:
        try:
            self._raw.driver_connection.rollback()  # type: ignore[union-attr]
        except Exception:
            self._connections.discard(self._raw)
            return
        self._connections.give_back(self._raw)


class _Connections:
    """The relay's own idle PostgreSQL connections, reused without a pool checkout (whose
    pre-ping would cost a round trip per claim). A connection that failed is dropped."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[PoolProxiedConnection] = []
        self._lock = threading.Lock()

    def take(self) -> PoolProxiedConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._engine.raw_connection()

    def give_back(self, raw: PoolProxiedConnection) -> None:
        with self._lock:
            self._idle.append(raw)

    def discard(self, raw: PoolProxiedConnection) -> None:
        raw.invalidate()
        raw.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()


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


class OutboxStore:
    """Claims due rows in order, one row per subject at a time, so order per aggregate holds."""

    def __init__(self, session_factory: sessionmaker[Session], lease_seconds: float = 15.0) -> None:
        self.session_factory = session_factory
        self.holder = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self._lease_until: datetime | None = None
        self._engine: Engine = session_factory.kw["bind"]
        self.postgresql = is_postgresql(self._engine)
        self._connections = _Connections(self._engine)

    def close(self) -> None:
        """Hand the relay's idle connections back to the pool."""
        self._connections.close()

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
        """Lock up to `limit` due rows, in seq order; None if there is nothing to do.

        A row is taken only if no earlier row of its subject is unpublished. On SQLite,
        `exclude` are the seqs and `busy_subjects` the subjects of this relay's rows in
        flight or being marked; PostgreSQL knows them from the row locks.
        """
        if self.postgresql:
            return self._claim_postgresql(limit)
        if not self._hold_lease():
            return None
        return self._claim_sqlite(limit, exclude or set(), busy_subjects or set())

    def _claim_postgresql(self, limit: int) -> Claim | None:
        """One statement: due rows, first unpublished of their subject, locked, skipping
        rows other claims hold (theirs, and this relay's own in flight)."""
        raw = self._connections.take()
        try:
            connection: Any = raw.driver_connection
            with connection.cursor() as cursor:
                cursor.execute(_CLAIM_POSTGRESQL, {"now": _naive_utc(utcnow()), "limit": limit})
                found = cursor.fetchall()
            if not found:
                connection.rollback()
                self._connections.give_back(raw)
                return None
        except BaseException:
            self._connections.discard(raw)
            raise
        rows = sorted(
            (
                PendingMessage(seq, mid, kind, type_, key, subject, corr, body.encode(), attempts)
                for seq, mid, kind, type_, key, corr, subject, body, attempts in found
            ),
            key=lambda row: row.seq,
        )
        return PostgresClaim(raw, rows, self._connections)

    def _claim_sqlite(self, limit: int, exclude: set[int], busy: set[str]) -> Claim | None:
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
        with self._engine.connect().execution_options(**READ_ONLY) as connection:
            rows = [
                PendingMessage(seq, mid, kind, type_, key, subject, corr, body.encode(), attempts)
                for seq, mid, kind, type_, key, corr, subject, body, attempts in connection.execute(
                    query
                )
                if seq not in exclude
            ][:limit]
            if not rows:
                return None
            eligible = self._first_of_each_subject_alone(connection, rows, busy, now)
        if not eligible:
            return None
        return SqliteClaim(self.session_factory, eligible)

    @staticmethod
    def _first_of_each_subject_alone(
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
