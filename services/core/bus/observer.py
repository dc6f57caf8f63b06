"""What operators watch on the bus, looked at on a timer by each worker for its /metrics.

Every `BUS_METRICS_INTERVAL` seconds (never per message) a worker counts its service's
outbox backlog and the age of its oldest row, and asks the broker (passive declares on
one connection of its own) how many messages wait in the queues its consumers read
(the consumer lag), in their retry queues, in its dead-letter queue and in
`portal.unrouted`. A scrape reads the last look; a source that could not be read is left
out rather than shown stale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.names import Names
from services.core.bus.store import backlog
from services.core.bus.topology import UNROUTED_SUFFIX, connection_parameters
from services.core.config import BusSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueDepth:
    ready: int
    consumers: int


@dataclass
class BusLook:
    """The last look; None where a source could not be read."""

    outbox_backlog: int | None = None
    outbox_oldest_age: float | None = None
    queues: dict[str, QueueDepth] | None = None
    at: float = 0.0
    errors: dict[str, int] = field(default_factory=lambda: {"database": 0, "broker": 0})


class BusObserver:
    """Looks at one service's outbox and queues on a timer; a prometheus-client collector."""

    def __init__(
        self,
        service: str,
        session_factory: sessionmaker[Session],
        settings: BusSettings,
        consuming_queues: Sequence[str] = (),
        *,
        names: Names | None = None,
    ) -> None:
        self.service = service
        self.session_factory = session_factory
        self.settings = settings
        self.names = names or Names(settings.namespace)
        self.consuming = tuple(consuming_queues)
        self.retries = tuple(
            self.names.retry_queue(queue, level)
            for queue in self.consuming
            for level in range(1, len(settings.retry_delays) + 1)
        )
        # A service that consumes nothing declares no dead-letter queue.
        self.dead_letters = self.names.dead_letter_queue(service) if self.consuming else None
        self.unrouted = f"{self.names.namespace}{UNROUTED_SUFFIX}"
        self.look = BusLook()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()  # sources whose last look failed

    def registry(self) -> CollectorRegistry:
        """A registry of its own holding this observer (a worker's /metrics adds it)."""
        registry = CollectorRegistry()
        registry.register(self)
        return registry

    # -- the timer ---------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.metrics_interval <= 0:
            return
        self._thread = threading.Thread(
            target=self.run, name=f"{self.service}-bus-observer", daemon=True
        )
        self._thread.start()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.observe()
            self._stopping.wait(self.settings.metrics_interval)
        self._close()

    def stop(self) -> None:
        self._stopping.set()

    def observe(self) -> None:
        """One look at the outbox and the broker (a failure of either is logged, not raised)."""
        outbox: tuple[int, float | None] | None = None
        try:
            with self.session_factory() as session:
                outbox = backlog(session)
            self._failing.discard("database")
        except Exception as exc:
            self._failed("database", exc)
        queues = self._queues()
        with self._lock:
            errors = self.look.errors
            self.look = BusLook(
                outbox_backlog=None if outbox is None else outbox[0],
                outbox_oldest_age=None if outbox is None else (outbox[1] or 0.0),
                queues=queues,
                at=time.time(),
                errors=errors,
            )

    def _queues(self) -> dict[str, QueueDepth] | None:
        for attempt in (1, 2):  # a connection the broker closed meanwhile: once more
            try:
                found = self._declare_passively()
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._close()
                if attempt == 2:
                    self._failed("broker", exc)
            else:
                self._failing.discard("broker")
                return found
        return None

    def _failed(self, source: str, exc: BaseException) -> None:
        """Count a failed look; log only the first of a row (an outage is not 4 lines a minute)."""
        self.look.errors[source] += 1
        if source not in self._failing:
            self._failing.add(source)
            log.warning(
                "bus metrics: %s unreadable: %s", source, exc, extra={"service": self.service}
            )

    def _declare_passively(self) -> dict[str, QueueDepth]:
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(connection_parameters(self.settings))
        channel: BlockingChannel = self._connection.channel()
        found: dict[str, QueueDepth] = {}
        queues = [*self.consuming, *self.retries, self.unrouted]
        if self.dead_letters is not None:
            queues.append(self.dead_letters)
        for queue in queues:
            try:
                frame = channel.queue_declare(queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker:  # not declared (yet): no depth
                channel = self._connection.channel()
                continue
            found[queue] = QueueDepth(frame.method.message_count, frame.method.consumer_count)
        if channel.is_open:
            channel.close()
        return found

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception as exc:
                log.debug("bus metrics: closing the connection: %s", exc)

    # -- the collector -----------------------------------------------------------------

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            look = self.look
        service = [self.service]
        errors = CounterMetricFamily(
            "portal_bus_observation_errors",
            "Looks at the outbox or the broker for these metrics that failed, since start",
            labels=["service", "source"],
        )
        for source, count in sorted(look.errors.items()):
            errors.add_metric([self.service, source], count)
        yield errors
        if look.outbox_backlog is not None:
            yield _gauge(
                "portal_outbox_backlog",
                "Outbox rows not yet published",
                service,
                look.outbox_backlog,
            )
            yield _gauge(
                "portal_outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox row (0 when none)",
                service,
                look.outbox_oldest_age or 0.0,
            )
        if look.queues is None:
            return
        depth = GaugeMetricFamily(
            "portal_queue_messages",
            "Messages ready in each queue of the service (consuming, retry and dead-letter)",
            labels=["service", "queue"],
        )
        consumers = GaugeMetricFamily(
            "portal_queue_consumers",
            "Consumers attached to each queue the service consumes",
            labels=["service", "queue"],
        )
        for queue in (*self.consuming, *self.retries, self.dead_letters):
            if queue is not None and queue in look.queues:
                depth.add_metric([self.service, queue], look.queues[queue].ready)
        for queue in self.consuming:
            if queue in look.queues:
                consumers.add_metric([self.service, queue], look.queues[queue].consumers)
        yield depth
        yield consumers
        if self.consuming:
            yield _gauge(
                "portal_consumer_lag_messages",
                "Messages waiting in the queues the service consumes, not yet delivered",
                service,
                sum(look.queues[q].ready for q in self.consuming if q in look.queues),
            )
        if self.dead_letters is not None and self.dead_letters in look.queues:
            yield _gauge(
                "portal_dead_letters",
                "Messages in the service's dead-letter queue",
                service,
                look.queues[self.dead_letters].ready,
            )
        if self.unrouted in look.queues:
            unrouted = GaugeMetricFamily(
                "portal_unrouted_messages",
                "Events no queue was bound to, kept in portal.unrouted (bounded, oldest dropped)",
                labels=["queue"],
            )
            unrouted.add_metric([self.unrouted], look.queues[self.unrouted].ready)
            yield unrouted


def _gauge(name: str, documentation: str, service: list[str], value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["service"])
    family.add_metric(service, value)
    return family
