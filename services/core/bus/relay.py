"""The outbox relay: publishes committed outbox rows with publisher confirms.

It runs on pika's asynchronous SelectConnection so that several batches are in flight
at once and confirms arrive together; a row is marked published only after the broker
confirmed it. Claiming and marking run on two database threads of their own, so the
broker connection keeps publishing while the database answers and a claim need not wait
for the previous batch's marks. A returned (unroutable) or nacked message is a failure,
retried later with backoff. A row is published only when every earlier row of its
subject is, so order per aggregate holds across several relays.

This module is the connection's lifecycle and the claiming; what becomes of each batch
between its claim and its marks is bus/batches.py, the database's part bus/store.py.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pika
from pika.adapters.select_connection import PollEvents, SelectConnection
from pika.channel import Channel
from pika.spec import Basic, BasicProperties
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.batches import Batches, BatchTimes, notify_loop
from services.core.bus.brokers import Brokers, broker_address
from services.core.bus.claims import Claim, PendingMessage
from services.core.bus.names import Names
from services.core.bus.postgresql import PostgresListener
from services.core.bus.reconnect import reconnect_until_stopped
from services.core.bus.sqlite import SqliteWalWatcher
from services.core.bus.store import OutboxStore
from services.core.bus.topology import declare_exchanges
from services.core.config import BusSettings
from services.core.metrics import RELAY_CONNECTED

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
        self.brokers = Brokers(settings)
        self.store = OutboxStore(session_factory, settings.relay_lease_seconds)
        self._engine: Engine = session_factory.kw["bind"]
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{service}-outbox-db")
        self._marker = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"{service}-outbox-mark"
        )
        self._handoff: queue.SimpleQueue[tuple[int, Claim | None, Exception | None, BatchTimes]] = (
            queue.SimpleQueue()
        )
        self._listener: PostgresListener | None = None
        self._wal: SqliteWalWatcher | None = None
        self._last_full_claim = 0.0
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._generation = 0
        self._claiming = False
        self._recheck = False
        self._batches = Batches(self.store, settings, service)
        self._timer: Any = None
        self._last_prune = 0.0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def published_total(self) -> int:
        return self._batches.published_total

    def observe_batches(self, observer: Callable[[list[PendingMessage], BatchTimes], None]) -> None:
        """Call `observer(rows, times)` after each batch is marked (marking thread)."""
        self._batches.observers.append(observer)

    # -- lifecycle ---------------------------------------------------------------------

    def run(self) -> None:
        """Connect, relay, reconnect with backoff after any loss; return after stop()."""
        reconnect_until_stopped(
            self._relay_until_closed,
            stopping=self._stopping,
            max_backoff=self.settings.reconnect_max_backoff,
            errors=(Exception,),
            on_error=self._on_connection_failed,
            after=self._after_connection,
        )
        self._marker.shutdown(wait=True)
        self._db.submit(self.store.release_lease).result()
        self._db.shutdown(wait=True)
        self.store.close()

    def _relay_until_closed(self) -> None:
        """One connection: declare, connect, run its loop until the connection ends."""
        broker = self._declare_topology()
        self._generation += 1
        self._connection = SelectConnection(
            broker,
            on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_error,
            on_close_callback=self._on_connection_closed,
        )
        self._connection.ioloop.start()

    def _on_connection_failed(self, exc: BaseException) -> None:
        log.warning("relay connection failed: %s", exc, extra={"service": self.service})

    def _after_connection(self) -> None:
        self.brokers.connection_ended()
        self._connected.clear()
        RELAY_CONNECTED.labels(self.service).set(0)
        self._abandon_batches()

    def stop(self) -> None:
        """Ask the relay to finish the batches in flight and close (thread-safe)."""
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            # The loop may already be gone, in which case run() returns by itself.
            with contextlib.suppress(Exception):
                connection.ioloop.add_callback_threadsafe(self._close_when_idle)

    def _declare_topology(self) -> pika.URLParameters:
        """Declare on the first broker that answers; the relay then publishes to it."""
        with self.brokers.connect() as conn:
            declare_exchanges(conn.channel(), self.names)
        assert self.brokers.current is not None
        return self.brokers.current

    def _close_when_idle(self) -> None:
        if self._connection is None:
            return
        if not self._batches.idle or self._claiming:
            self._connection.ioloop.call_later(0.01, self._close_when_idle)
        elif self._connection.is_open:
            self._connection.close()
        else:
            self._connection.ioloop.stop()

    def _abandon_batches(self) -> None:
        """After the connection is gone: give back every claim not confirmed (run thread)."""
        self._db.submit(lambda: None).result()  # let database work in progress end
        self._marker.submit(lambda: None).result()  # marks already asked for are kept
        claims = self._batches.abandon()
        while not self._handoff.empty():
            _, claim, _, _ = self._handoff.get()
            if claim is not None:
                claims.append(claim)
        for claim in claims:
            try:
                self._db.submit(claim.release).result()
            except Exception as exc:
                log.warning("outbox release failed: %s", exc, extra={"service": self.service})
        self._claiming = False
        self._timer = None

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
        self._stop_waking(connection)
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
        self._batches.channel_opened()
        self._connected.set()
        RELAY_CONNECTED.labels(self.service).set(1)
        broker = self.brokers.current
        log.info(
            "relay connected to %s",
            broker_address(broker) if broker is not None else "?",
            extra={"service": self.service},
        )
        self._start_waking()
        self._request_claim()

    def _on_channel_closed(self, channel: Channel, reason: BaseException) -> None:
        log.warning("relay channel closed: %s", reason, extra={"service": self.service})
        self._channel = None
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    # -- claiming (database thread) and publishing (loop thread) ------------------------

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        if self._connection is None or self._stopping.is_set() or self._timer is not None:
            return
        self._timer = self._connection.ioloop.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._connection is not None:
            self._connection.ioloop.remove_timeout(self._timer)
        self._timer = None

    def _request_claim(self) -> None:
        """Ask the database thread for the next batch, unless one is being claimed."""
        if self._claiming:
            self._recheck = True  # rows may have come after that claim looked
            return
        if self._channel is None or self._stopping.is_set():
            return
        if len(self._batches.in_flight) >= self.settings.relay_max_in_flight_batches:
            return  # a finished batch asks again
        self._cancel_timer()
        self._claiming = True
        self._recheck = False
        rows = self._batches.held_rows()
        exclude = {row.seq for row in rows}
        busy = {row.subject for row in rows if row.subject is not None}
        generation, connection = self._generation, self._connection
        assert connection is not None

        times = BatchTimes(asked=time.time())

        def claim_rows() -> None:
            claim: Claim | None = None
            error: Exception | None = None
            try:
                self._maybe_prune()
                claim = self.store.claim(self.settings.relay_batch_size, exclude, busy)
            except Exception as exc:
                error = exc
            times.claimed = time.time()
            self._handoff.put((generation, claim, error, times))
            with contextlib.suppress(Exception):  # a closed loop: run() releases the claim
                connection.ioloop.add_callback_threadsafe(self._take_claims)

        self._db.submit(claim_rows)

    def _take_claims(self) -> None:
        while not self._handoff.empty():
            generation, claim, error, times = self._handoff.get()
            self._claiming = False
            if generation != self._generation or self._channel is None or self._stopping.is_set():
                if claim is not None:
                    self._db.submit(claim.release)
                continue
            self._last_full_claim = time.monotonic()
            if error is not None:
                log.warning("outbox claim failed: %s", error, extra={"service": self.service})
                self._schedule(0.5, self._request_claim)
            elif claim is None:
                if self._recheck:  # rows or freed subjects may have come meanwhile
                    self._request_claim()
                elif not self._batches.in_flight:
                    self._wait_for_rows()
            else:
                self._publish_batch(claim, times)
                self._request_claim()

    def _publish_batch(self, claim: Claim, times: BatchTimes) -> None:
        assert self._channel is not None and self._connection is not None
        batch = self._batches.publish(self._channel, self.names, claim, times)
        batch.timer = self._connection.ioloop.call_later(
            self.settings.relay_confirm_timeout, self._on_confirm_timeout
        )

    def _on_return(
        self, channel: Channel, method: Basic.Return, properties: BasicProperties, body: bytes
    ) -> None:
        self._batches.returned(method, properties)

    def _on_confirm(self, frame: Any) -> None:
        for batch_id in self._batches.confirmed(frame.method):
            self._finish_batch(batch_id)

    def _finish_batch(self, batch_id: int) -> None:
        """Every row of the batch is confirmed or failed: mark them (marking thread)."""
        batch = self._batches.finish(batch_id)
        if batch.timer is not None and self._connection is not None:
            self._connection.ioloop.remove_timeout(batch.timer)
        connection = self._connection
        assert connection is not None
        self._marker.submit(self._batches.mark_waiting, notify_loop(connection, self._marked))
        self._request_claim()

    def _marked(self, batch_id: int) -> None:
        """Its rows are no longer pending: later rows of their subjects may go (loop)."""
        if self._batches.marked(batch_id):
            self._recheck = True
            self._request_claim()

    def _on_confirm_timeout(self) -> None:
        log.warning("publisher confirms timed out", extra={"service": self.service})
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    # -- waking up when rows arrive ----------------------------------------------------

    def _start_waking(self) -> None:
        assert self._connection is not None
        if self.store.postgresql:
            try:
                self._listener = PostgresListener(self._engine)
            except Exception as exc:  # polling still works, only slower to notice
                log.warning("outbox LISTEN failed: %s", exc, extra={"service": self.service})
                return
            self._connection.ioloop.add_handler(
                self._listener.fileno(), self._on_notify, PollEvents.READ
            )
        elif self._engine.url.database and self._engine.url.database != ":memory:":
            self._wal = SqliteWalWatcher(self._engine.url.database)

    def _stop_waking(self, connection: SelectConnection) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                connection.ioloop.remove_handler(self._listener.fileno())
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None

    def _wait_for_rows(self) -> None:
        """Idle: wait for a NOTIFY (PostgreSQL) or a WAL change (SQLite), polling rarely."""
        if self._listener is not None:
            self._schedule(self.settings.relay_idle_poll_interval, self._request_claim)
        elif self._wal is not None:
            self._schedule(self.settings.relay_poll_interval, self._watch_wal)
        else:
            self._schedule(self.settings.relay_poll_interval, self._request_claim)

    def _watch_wal(self) -> None:
        self._timer = None
        assert self._wal is not None
        idle_for = time.monotonic() - self._last_full_claim
        if self._wal.changed() or idle_for >= self.settings.relay_idle_poll_interval:
            self._request_claim()
        else:
            self._schedule(self.settings.relay_poll_interval, self._watch_wal)

    def _on_notify(self, fd: int, events: int) -> None:
        try:
            assert self._listener is not None
            self._listener.drain()
        except Exception as exc:
            log.warning("outbox LISTEN lost: %s", exc, extra={"service": self.service})
            if self._connection is not None:
                self._stop_waking(self._connection)
        self._request_claim()

    def _maybe_prune(self) -> None:
        """Delete old published rows now and then (database thread)."""
        now = time.monotonic()
        if now - self._last_prune < self.settings.outbox_prune_interval:
            return
        self._last_prune = now
        removed = self.store.prune(timedelta(days=self.settings.outbox_retention_days))
        if removed:
            log.info("pruned published outbox rows: %s", removed, extra={"service": self.service})
