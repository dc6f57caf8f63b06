"""The relay's view of the outbox table: claim pending rows, mark them, prune them.

What differs between databases lives in one module per backend (bus/sqlite.py,
bus/postgresql.py); this is the part they share and the choice between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import postgresql, sqlite
from services.core.bus.claims import Claim, PendingMessage, backoff_delay
from services.core.bus.models import OutboxMessage
from services.core.clock import utcnow
from services.core.db import is_postgresql

__all__ = ["Claim", "OutboxStatus", "OutboxStore", "PendingMessage", "backoff_delay"]


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    oldest_pending_age: float | None
    failing: int
    published: int


class OutboxStore:
    """Claims due rows in order, one row per subject at a time, so order per aggregate holds."""

    def __init__(self, session_factory: sessionmaker[Session], lease_seconds: float = 15.0) -> None:
        self.session_factory = session_factory
        self._engine: Engine = session_factory.kw["bind"]
        self.postgresql = is_postgresql(self._engine)
        self._lease = sqlite.Lease(session_factory, lease_seconds)
        self.holder = self._lease.holder
        self._connections = postgresql.Connections(self._engine)

    def close(self) -> None:
        """Hand the relay's idle connections back to the pool."""
        self._connections.close()

    def release_lease(self) -> None:
        if self.postgresql:
            return
        self._lease.release()

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
            return postgresql.claim(self._connections, limit)
        if not self._lease.hold():
            return None
        return sqlite.claim(
            self._engine, self.session_factory, limit, exclude or set(), busy_subjects or set()
        )

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
            pending, age = backlog(session)
            failing = session.scalar(
                select(func.count()).where(
                    OutboxMessage.published_at.is_(None), OutboxMessage.last_error.is_not(None)
                )
            )
            published = session.scalar(
                select(func.count()).where(OutboxMessage.published_at.is_not(None))
            )
        return OutboxStatus(pending, age, int(failing or 0), int(published or 0))


def backlog(session: Session) -> tuple[int, float | None]:
    """Unpublished rows and the age in seconds of the oldest (None when there are none).

    Cheap: the pending rows are a partial index's; the published ones are never read.
    """
    pending, oldest = session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.published_at.is_(None)
        )
    ).one()
    if oldest is None:
        return int(pending), None
    if oldest.tzinfo is None:  # aggregate results bypass the column type on SQLite
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=utcnow().tzinfo)
    return int(pending), max(0.0, (utcnow() - oldest).total_seconds())
