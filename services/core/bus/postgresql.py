"""The bus on PostgreSQL: claiming outbox rows under row locks, marking them in one
pipelined round trip, LISTEN/NOTIFY to wake the relay, and the inbox insert.

Several relays may share a database: `FOR UPDATE SKIP LOCKED` keeps each off the rows
(and the later rows of their subjects) another holds.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection

from services.core.bus.claims import Claim, PendingMessage, naive_utc
from services.core.bus.models import InboxMessage
from services.core.clock import utcnow

NOTIFY_CHANNEL = "portal_outbox"
_NOTIFIED_KEY = "outbox_notified_transaction"

_CLAIM = """
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


class PostgresClaim(Claim):
    """PostgreSQL: the claiming transaction stays open, so its row locks keep other relays
    off these rows (and off later rows of their subjects); finish() commits it.

    It is a raw psycopg connection: the claim is one statement and the marks one pipelined
    round trip, and the marks may run on another thread than the next claim.
    """

    def __init__(
        self, raw: PoolProxiedConnection, rows: list[PendingMessage], connections: Connections
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
                    cursor.execute(_MARK_PUBLISHED, (naive_utc(now), published))
                failures = self._failures(failed, max_backoff, now)
                if failures:
                    cursor.executemany(
                        _MARK_FAILED, [(a, e, naive_utc(at), s) for a, e, at, s in failures]
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


class Connections:
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


def claim(connections: Connections, limit: int) -> Claim | None:
    """One statement: due rows, first unpublished of their subject, locked, skipping
    rows other claims hold (theirs, and this relay's own in flight)."""
    raw = connections.take()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, {"now": naive_utc(utcnow()), "limit": limit})
            found = cursor.fetchall()
        if not found:
            connection.rollback()
            connections.give_back(raw)
            return None
    except BaseException:
        connections.discard(raw)
        raise
    rows = sorted(
        (
            PendingMessage(seq, mid, kind, type_, key, subject, corr, body.encode(), attempts)
            for seq, mid, kind, type_, key, corr, subject, body, attempts in found
        ),
        key=lambda row: row.seq,
    )
    return PostgresClaim(raw, rows, connections)


def notify_on_commit(session: Session) -> None:
    """Wake the relays when this transaction commits (once per transaction)."""
    transaction = session.get_transaction()
    if transaction is None or session.info.get(_NOTIFIED_KEY) is transaction:
        return
    with session.no_autoflush:  # the rows are written at the commit's flush, all together
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    session.info[_NOTIFIED_KEY] = transaction


class PostgresListener:
    """A connection of the relay's own that LISTENs; readable when a writer committed."""

    def __init__(self, engine: Engine) -> None:
        raw = engine.raw_connection()
        self.connection: Any = raw.driver_connection
        raw.detach()  # ours for good: never handed back to the pool
        self._raw = raw
        assert self.connection is not None
        self.connection.autocommit = True
        self.connection.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def fileno(self) -> int:
        return int(self.connection.fileno())

    def drain(self) -> int:
        return sum(1 for _ in self.connection.notifies(timeout=0))

    def close(self) -> None:
        self.connection.close()


def record_in_inbox(session: Session, values: list[dict[str, Any]]) -> set[str]:
    """Insert inbox rows, skipping ids already there; the ids inserted. A concurrent
    consumer's uncommitted row of the same id makes this wait for its outcome."""
    statement = (
        insert(InboxMessage)
        .values(values)
        .on_conflict_do_nothing()
        .returning(InboxMessage.message_id)
    )
    return set(session.scalars(statement))
