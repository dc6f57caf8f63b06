"""The relay's batch bookkeeping: which delivery tag is which outbox row, what the broker
said of each, and the marks that commit the outcome.

The relay (bus/relay.py) owns the connection and decides when to claim; this owns the
batches between a claim and its marks. Everything here but the marking runs on the
relay's loop thread; `mark_waiting` runs on the marking thread, and the list of batches
waiting for it is the one thing both threads touch (under a lock).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from pika.channel import Channel
from pika.spec import Basic, BasicProperties

from services.core.bus.claims import Claim, PendingMessage
from services.core.bus.envelope import CONTENT_TYPE, PERSISTENT
from services.core.bus.names import Names
from services.core.bus.outbox import COMMAND
from services.core.bus.sqlite import SqliteClaim
from services.core.bus.store import OutboxStore
from services.core.config import BusSettings
from services.core.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)


@dataclass
class BatchTimes:
    """When (time.time()) a batch reached each stage; for benchmarks and diagnosis."""

    asked: float = 0.0  # the loop asked the database thread for a claim
    claimed: float = 0.0  # the claim's statement returned
    published: float = 0.0  # every row handed to the connection
    confirmed: float = 0.0  # the last confirm (or return) arrived
    marked: float = 0.0  # the marks committed


@dataclass
class Batch:
    """One claim on its way: tags awaiting a confirm, and what became of its rows."""

    claim: Claim
    times: BatchTimes
    pending: set[int] = field(default_factory=set)
    published: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    timer: Any = None


class Batches:
    """The batches of one relay, from publishing to marked."""

    def __init__(self, store: OutboxStore, settings: BusSettings, service: str) -> None:
        self.store = store
        self.settings = settings
        self.service = service
        self.in_flight: dict[int, Batch] = {}  # published, awaiting confirms
        self.marking: dict[int, Batch] = {}  # confirmed, their marks not yet committed
        # Confirmed batches the marking thread has not taken yet (both threads use it).
        self._to_mark: list[tuple[int, Batch]] = []
        self._to_mark_lock = threading.Lock()
        self._batch_counter = 0
        self._tag_row: dict[int, PendingMessage] = {}
        self._tag_batch: dict[int, int] = {}
        self._by_message_id: dict[str, int] = {}
        self._next_tag = 0
        self.observers: list[Callable[[list[PendingMessage], BatchTimes], None]] = []
        self.published_total = 0

    @property
    def idle(self) -> bool:
        """No batch awaits a confirm or its marks."""
        return not self.in_flight and not self.marking

    def channel_opened(self) -> None:
        """A new channel numbers its deliveries from 1."""
        self._next_tag = 0

    def held_rows(self) -> list[PendingMessage]:
        """The rows of every batch in flight or being marked."""
        held = [*self.in_flight.values(), *self.marking.values()]
        return [row for batch in held for row in batch.claim.rows]

    def publish(self, channel: Channel, names: Names, claim: Claim, times: BatchTimes) -> Batch:
        """Hand every row of the claim to the channel, noting each one's delivery tag."""
        self._batch_counter += 1
        batch = Batch(claim, times)
        self.in_flight[self._batch_counter] = batch
        for row in claim.rows:
            exchange = names.commands_exchange if row.kind == COMMAND else names.events_exchange
            properties = BasicProperties(
                message_id=row.message_id,
                type=row.type,
                correlation_id=row.correlation_id,
                content_type=CONTENT_TYPE,
                delivery_mode=PERSISTENT,
            )
            self._next_tag += 1
            self._tag_row[self._next_tag] = row
            self._tag_batch[self._next_tag] = self._batch_counter
            batch.pending.add(self._next_tag)
            self._by_message_id[row.message_id] = self._next_tag
            channel.basic_publish(exchange, row.routing_key, row.body, properties, mandatory=True)
        times.published = time.time()
        return batch

    def returned(self, method: Basic.Return, properties: BasicProperties) -> None:
        """The broker returned a message (unroutable): its row failed."""
        tag = self._by_message_id.get(properties.message_id or "")
        if tag is not None and tag in self._tag_row:
            batch = self.in_flight[self._tag_batch[tag]]
            reason = f"returned by broker: {method.reply_code} {method.reply_text}"
            batch.failed[self._tag_row[tag].seq] = reason

    def confirmed(self, method: Any) -> list[int]:
        """Note an ack or nack; the batches it completed, in order."""
        acked = isinstance(method, Basic.Ack)
        if method.multiple:
            tags = [tag for tag in self._tag_row if tag <= method.delivery_tag]
        else:
            tags = [method.delivery_tag]
        touched: set[int] = set()
        for tag in tags:
            row = self._tag_row.pop(tag, None)
            if row is None:
                continue
            batch_id = self._tag_batch.pop(tag)
            batch = self.in_flight[batch_id]
            batch.pending.discard(tag)
            self._by_message_id.pop(row.message_id, None)
            if not acked:
                batch.failed[row.seq] = "nacked by broker"
            elif row.seq not in batch.failed:
                batch.published.append(row.seq)
            touched.add(batch_id)
        return [batch_id for batch_id in sorted(touched) if not self.in_flight[batch_id].pending]

    def finish(self, batch_id: int) -> Batch:
        """Every row of the batch is confirmed or failed: queue its marks."""
        batch = self.in_flight.pop(batch_id)
        batch.times.confirmed = time.time()
        self.marking[batch_id] = batch
        with self._to_mark_lock:
            self._to_mark.append((batch_id, batch))
        return batch

    def mark_waiting(self, notify: Callable[[int], None]) -> None:
        """Commit the outcome of every batch waiting for its marks (marking thread), then
        `notify(batch_id)` for each.

        On SQLite the batches that queued up while the last mark waited for the write
        lock are marked in one transaction; a PostgreSQL claim commits its own.
        """
        with self._to_mark_lock:
            waiting, self._to_mark = self._to_mark, []
        joined = [item for item in waiting if isinstance(item[1].claim, SqliteClaim)]
        groups = [[item] for item in waiting if not isinstance(item[1].claim, SqliteClaim)]
        if joined:
            groups.append(joined)
        for group in groups:
            self._mark(group, notify)

    def _mark(self, group: list[tuple[int, Batch]], notify: Callable[[int], None]) -> None:
        """Commit the outcome of these batches, then let the loop know."""
        try:
            if isinstance(group[0][1].claim, SqliteClaim):
                SqliteClaim.finish_together(
                    self.store.session_factory,
                    [(cast(SqliteClaim, b.claim), b.published, b.failed) for _, b in group],
                    self.settings.relay_max_backoff,
                )
            else:  # one PostgreSQL claim: its own transaction
                ((_, batch),) = group
                batch.claim.finish(batch.published, batch.failed, self.settings.relay_max_backoff)
        except Exception as exc:
            # The rows stay pending and go out again: consumers drop the duplicates.
            log.error("outbox mark failed: %s", exc, extra={"service": self.service})
            return
        finally:
            for batch_id, _ in group:
                notify(batch_id)
        marked = time.time()
        for _, batch in group:
            batch.times.marked = marked
            for observer in self.observers:
                observer(batch.claim.rows, batch.times)
            self.published_total += len(batch.published)
            OUTBOX_PUBLISHED.labels(self.service).inc(len(batch.published))
            if batch.failed:
                OUTBOX_PUBLISH_FAILURES.labels(self.service).inc(len(batch.failed))
                log.warning(
                    "outbox rows failed to publish: %s",
                    len(batch.failed),
                    extra={"service": self.service, "errors": sorted(set(batch.failed.values()))},
                )

    def marked(self, batch_id: int) -> bool:
        """The batch's marks committed (loop thread); False if it was abandoned meanwhile."""
        return self.marking.pop(batch_id, None) is not None

    def abandon(self) -> list[Claim]:
        """The connection is gone: forget every batch; the claims of those not confirmed."""
        self.marking.clear()
        claims = [batch.claim for batch in self.in_flight.values()]
        self.in_flight.clear()
        self._tag_row.clear()
        self._tag_batch.clear()
        self._by_message_id.clear()
        return claims


def notify_loop(connection: Any, callback: Callable[[int], None]) -> Callable[[int], None]:
    """`callback(batch_id)` on the connection's loop thread; nothing if the loop is gone."""

    def notify(batch_id: int) -> None:
        with contextlib.suppress(Exception):  # a closed loop: run() forgets the batch
            connection.ioloop.add_callback_threadsafe(lambda: callback(batch_id))

    return notify
