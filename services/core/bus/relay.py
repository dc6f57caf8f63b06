"""The outbox relay: publishes committed outbox rows with publisher confirms.

It runs on pika's asynchronous SelectConnection so that a whole batch is in flight at
once and confirms arrive together; a row is marked published only after the broker
confirmed it. A returned (unroutable) or nacked message is a failure, retried later
with backoff. A row is published only when every earlier row of its subject is, so
order per aggregate holds even across several relays.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pika
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.spec import Basic, BasicProperties
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.envelope import CONTENT_TYPE, PERSISTENT
from services.core.bus.names import Names
from services.core.bus.outbox import COMMAND
from services.core.bus.store import Claim, OutboxStore, PendingMessage
from services.core.bus.topology import connection_parameters, declare_exchanges
from services.core.config import BusSettings
from services.core.metrics import (
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
    RELAY_CONNECTED,
)

log = logging.getLogger(__name__)


class OutboxRelay:
    """Moves outbox rows of one database to the broker until stop() is called."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: BusSettings,
        *,
        service: str,
        names: Names | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.names = names or Names(settings.namespace)
        self.store = OutboxStore(session_factory, settings.relay_lease_seconds)
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._claim: Claim | None = None
        self._in_flight: dict[int, PendingMessage] = {}
        self._by_message_id: dict[str, int] = {}
        self._published: list[int] = []
        self._failed: dict[int, str] = {}
        self._next_tag = 0
        self._confirm_timer: Any = None
        self._tick_timer: Any = None
        self._last_prune = 0.0
        self.published_total = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- lifecycle ---------------------------------------------------------------------

    def run(self) -> None:
        """Connect, relay, reconnect with backoff after any loss; return after stop()."""
        backoff = 0.2
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self._declare_topology()
                self._connection = SelectConnection(
                    connection_parameters(self.settings),
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_error,
                    on_close_callback=self._on_connection_closed,
                )
                self._connection.ioloop.start()
            except Exception as exc:
                log.warning("relay connection failed: %s", exc, extra={"service": self.service})
            finally:
                self._connected.clear()
                RELAY_CONNECTED.labels(self.service).set(0)
                self._abandon_batch()
            if self._stopping.is_set():
                break
            if time.monotonic() - started > 10:
                backoff = 0.2
            self._stopping.wait(backoff)
            backoff = min(self.settings.reconnect_max_backoff, backoff * 2)
        self.store.release_lease()

    def stop(self) -> None:
        """Ask the relay to finish the batch in flight and close (thread-safe)."""
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            # The loop may already be gone, in which case run() returns by itself.
            with contextlib.suppress(Exception):
                connection.ioloop.add_callback_threadsafe(self._close_when_idle)

    def _declare_topology(self) -> None:
        with pika.BlockingConnection(connection_parameters(self.settings)) as conn:
            declare_exchanges(conn.channel(), self.names)

    def _close_when_idle(self) -> None:
        if self._in_flight and self._connection is not None:
            self._connection.ioloop.call_later(0.01, self._close_when_idle)
            return
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        elif self._connection is not None:
            self._connection.ioloop.stop()

    # -- connection callbacks ----------------------------------------------------------

    def _on_connection_open(self, connection: SelectConnection) -> None:
        if self._stopping.is_set():  # stop() came while we were connecting
            connection.close()
            return
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_error(self, connection: SelectConnection, error: BaseException) -> None:
        log.warning("relay cannot connect: %s", error, extra={"service": self.service})
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: SelectConnection, reason: BaseException) -> None:
        self._channel = None
        self._connected.clear()
        RELAY_CONNECTED.labels(self.service).set(0)
        if not self._stopping.is_set():
            log.warning("relay connection closed: %s", reason, extra={"service": self.service})
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm)
        self._next_tag = 0
        self._connected.set()
        RELAY_CONNECTED.labels(self.service).set(1)
        log.info("relay connected", extra={"service": self.service})
        self._schedule_tick(0)

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        log.warning("relay channel closed: %s", reason, extra={"service": self.service})
        self._channel = None
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    # -- the publishing loop -----------------------------------------------------------

    def _schedule_tick(self, delay: float) -> None:
        if self._connection is None or self._stopping.is_set():
            return
        self._tick_timer = self._connection.ioloop.call_later(delay, self._tick)

    def _tick(self) -> None:
        self._tick_timer = None
        if self._channel is None or self._claim is not None or self._stopping.is_set():
            return
        try:
            self._maybe_prune()
            claim = self.store.claim(self.settings.relay_batch_size)
        except Exception as exc:
            log.warning("outbox claim failed: %s", exc, extra={"service": self.service})
            self._schedule_tick(max(self.settings.relay_poll_interval, 0.5))
            return
        if claim is None:
            self._schedule_tick(self.settings.relay_poll_interval)
            return
        self._publish_batch(claim)

    def _publish_batch(self, claim: Claim) -> None:
        assert self._channel is not None
        self._claim = claim
        self._published = []
        self._failed = {}
        for row in claim.rows:
            exchange = (
                self.names.commands_exchange if row.kind == COMMAND else self.names.events_exchange
            )
            properties = BasicProperties(
                message_id=row.message_id,
                type=row.type,
                correlation_id=row.correlation_id,
                content_type=CONTENT_TYPE,
                delivery_mode=PERSISTENT,
            )
            self._next_tag += 1
            self._in_flight[self._next_tag] = row
            self._by_message_id[row.message_id] = row.seq
            self._channel.basic_publish(
                exchange, row.routing_key, row.body, properties, mandatory=True
            )
        assert self._connection is not None
        self._confirm_timer = self._connection.ioloop.call_later(
            self.settings.relay_confirm_timeout, self._on_confirm_timeout
        )

    def _on_return(
        self, channel: Channel, method: Basic.Return, properties: BasicProperties, body: bytes
    ) -> None:
        seq = self._by_message_id.get(properties.message_id or "")
        if seq is not None:
            self._failed[seq] = f"returned by broker: {method.reply_code} {method.reply_text}"

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, Basic.Ack)
        tags = (
            [tag for tag in self._in_flight if tag <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        for tag in tags:
            row = self._in_flight.pop(tag, None)
            if row is None:
                continue
            self._by_message_id.pop(row.message_id, None)
            if not acked:
                self._failed[row.seq] = "nacked by broker"
            elif row.seq not in self._failed:
                self._published.append(row.seq)
        if not self._in_flight and self._claim is not None:
            self._finish_batch()

    def _finish_batch(self) -> None:
        claim = self._claim
        assert claim is not None
        if self._confirm_timer is not None and self._connection is not None:
            self._connection.ioloop.remove_timeout(self._confirm_timer)
            self._confirm_timer = None
        self._claim = None
        full = len(claim.rows) >= self.settings.relay_batch_size
        try:
            claim.finish(self._published, self._failed, self.settings.relay_max_backoff)
        except Exception as exc:
            # The rows stay pending and go out again: consumers drop the duplicates.
            log.error("outbox mark failed: %s", exc, extra={"service": self.service})
            self._schedule_tick(0.5)
            return
        self.published_total += len(self._published)
        OUTBOX_PUBLISHED.labels(self.service).inc(len(self._published))
        if self._failed:
            OUTBOX_PUBLISH_FAILURES.labels(self.service).inc(len(self._failed))
            log.warning(
                "outbox rows failed to publish: %s",
                len(self._failed),
                extra={"service": self.service, "errors": sorted(set(self._failed.values()))},
            )
        self._schedule_tick(0 if full or self._published else self.settings.relay_poll_interval)

    def _on_confirm_timeout(self) -> None:
        self._confirm_timer = None
        log.warning("publisher confirms timed out", extra={"service": self.service})
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _abandon_batch(self) -> None:
        if self._claim is not None:
            try:
                self._claim.release()
            except Exception as exc:
                log.warning("outbox release failed: %s", exc, extra={"service": self.service})
        self._claim = None
        self._in_flight.clear()
        self._by_message_id.clear()

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < self.settings.outbox_prune_interval:
            return
        self._last_prune = now
        removed = self.store.prune(timedelta(days=self.settings.outbox_retention_days))
        if removed:
            log.info("pruned published outbox rows: %s", removed, extra={"service": self.service})
