"""What the relay holds while it publishes: claimed rows, and the claim that ends with their
marks. Each storage backend (bus/sqlite.py, bus/postgresql.py) has its own Claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


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


def backoff_delay(attempts: int, maximum: float) -> float:
    """Seconds to wait before the next try of a row that failed `attempts` times."""
    return float(min(maximum, 0.5 * 2 ** max(0, attempts - 1)))


def naive_utc(moment: datetime) -> datetime:
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
