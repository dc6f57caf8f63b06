"""Cheap signals that the outbox may have new rows, so an idle relay need not query.

PostgreSQL: writers NOTIFY a channel in their transaction (delivered on commit) and
the relay LISTENs on a connection of its own. SQLite: any commit changes the WAL file,
and a stat() of it costs microseconds.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

NOTIFY_CHANNEL = "portal_outbox"
_NOTIFIED_KEY = "outbox_notified_transaction"


def notify_on_commit(session: Session) -> None:
    """PostgreSQL: wake the relays when this transaction commits (once per transaction)."""
    if session.get_bind().dialect.name != "postgresql":
        return
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


class SqliteWalWatcher:
    """Tells whether the database's WAL file changed since the last look."""

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
