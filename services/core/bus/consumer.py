"""The consumer: idempotent handlers, retries with delay, dead-lettering, recovery.

A message is acknowledged only after the handler's transaction committed together
with its inbox row, so a redelivered message is recognised and skipped. A failing
handler is retried through delay queues, then the message goes to the service's DLQ
with the reason in its headers. A body that is no envelope, or a type nobody handles,
goes to the DLQ at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import postgresql, sqlite
from services.core.bus.brokers import Brokers, broker_address
from services.core.bus.envelope import Envelope, EnvelopeError
from services.core.bus.names import (
    HEADER_ATTEMPTS,
    HEADER_FAILED_AT,
    HEADER_FAILURE_KIND,
    HEADER_FAILURE_REASON,
    HEADER_ORIGINAL_QUEUE,
    HEADER_ORIGINAL_ROUTING_KEY,
    Names,
)
from services.core.bus.reconnect import reconnect_until_stopped
from services.core.bus.topology import (
    QueueSpec,
    declare_exchanges,
    declare_service_queues,
)
from services.core.clock import format_timestamp, utcnow
from services.core.config import BusSettings
from services.core.context import message_context
from services.core.db import is_postgresql
from services.core.metrics import CONSUMER_CONNECTED, HANDLER_SECONDS, MESSAGES_HANDLED

log = logging.getLogger(__name__)

Handler = Callable[[Session, Envelope], None]


class PermanentError(Exception):
    """A handler's verdict that retrying cannot help: the message goes to the DLQ at once."""


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` zero or more."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), routing_key.split("."))


@dataclass(frozen=True)
class Delivery:
    """A message as the broker handed it to us, and the queue it came from."""

    method: Basic.Deliver
    properties: BasicProperties
    body: bytes
    queue: str


@dataclass(frozen=True)
class Registration:
    pattern: str
    queue: str
    handler: Handler


class Consumer:
    """Runs a service's event and command handlers until stop() is called."""

    def __init__(
        self,
        service: str,
        session_factory: sessionmaker[Session],
        settings: BusSettings,
        *,
        names: Names | None = None,
        consumer_name: str | None = None,
    ) -> None:
        self.service = service
        self.session_factory = session_factory
        self.settings = settings
        self.names = names or Names(settings.namespace)
        self.consumer_name = consumer_name or service
        self._registrations: list[Registration] = []
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self.brokers = Brokers(settings)
        self._observers: list[Callable[[Envelope, str], None]] = []
        self.handled_total = 0

    # -- registration ------------------------------------------------------------------

    def on_event(self, pattern: str) -> Callable[[Handler], Handler]:
        """Register a handler for events whose type matches `pattern` (topic syntax)."""
        return self._register(pattern, self.names.events_queue(self.service))

    def on_command(self, command_type: str) -> Callable[[Handler], Handler]:
        """Register a handler for commands of this type sent to this service."""
        return self._register(command_type, self.names.commands_queue(self.service))

    def _register(self, pattern: str, queue: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self._registrations.append(Registration(pattern, queue, handler))
            return handler

        return decorator

    def observe(self, observer: Callable[[Envelope, str], None]) -> None:
        """Call `observer(envelope, outcome)` after each message (tests wait on it)."""
        self._observers.append(observer)

    def queue_specs(self) -> list[QueueSpec]:
        specs: dict[str, QueueSpec] = {}
        for reg in self._registrations:
            exchange = (
                self.names.commands_exchange
                if reg.queue == self.names.commands_queue(self.service)
                else self.names.events_exchange
            )
            spec = specs.get(reg.queue, QueueSpec(reg.queue, exchange, ()))
            specs[reg.queue] = QueueSpec(
                spec.name, spec.exchange, (*spec.routing_keys, reg.pattern)
            )
        return list(specs.values())

    def handler_for(self, queue: str, message_type: str) -> Handler | None:
        for reg in self._registrations:
            if reg.queue == queue and topic_matches(reg.pattern, message_type):
                return reg.handler
        return None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- lifecycle ---------------------------------------------------------------------

    def declare(self, channel: BlockingChannel) -> None:
        declare_exchanges(channel, self.names)
        declare_service_queues(channel, self.names, self.service, self.queue_specs(), self.settings)

    def run(self) -> None:
        """Consume, reconnect with backoff after any loss; return after stop()."""
        reconnect_until_stopped(
            self._consume_until_stopped,
            stopping=self._stopping,
            max_backoff=self.settings.reconnect_max_backoff,
            errors=(pika.exceptions.AMQPError, OSError),
            on_error=self._on_connection_lost,
            after=self._after_connection,
        )

    def _on_connection_lost(self, exc: BaseException) -> None:
        log.warning("consumer connection lost: %s", exc, extra={"service": self.service})

    def _after_connection(self) -> None:
        self.brokers.connection_ended()
        self._connected.clear()
        CONSUMER_CONNECTED.labels(self.service).set(0)
        self._close_connection()

    def stop(self) -> None:
        """Finish the message in hand, then close (safe from a signal handler or thread)."""
        self._stopping.set()

    def _consume_until_stopped(self) -> None:
        self._connection = self.brokers.connect()
        channel = self._connection.channel()
        channel.confirm_delivery()
        self.declare(channel)
        channel.basic_qos(prefetch_count=self.settings.consumer_prefetch)
        buffer: list[Delivery] = []
        # The broker may cancel a consumer while the connection lives on (its queue was
        # deleted, or a cluster node holding it went): pika then drops it silently, so
        # without this the consumer would wait for deliveries that never come.
        cancelled: list[str] = []
        channel.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        for spec in self.queue_specs():
            channel.basic_consume(
                spec.name,
                on_message_callback=lambda ch, m, p, b, q=spec.name: buffer.append(
                    Delivery(m, p, b, q)
                ),
            )
        self._connected.set()
        CONSUMER_CONNECTED.labels(self.service).set(1)
        broker = self.brokers.current
        log.info(
            "consumer connected to %s",
            broker_address(broker) if broker is not None else "?",
            extra={"service": self.service},
        )
        while not self._stopping.is_set():
            # Returns as soon as deliveries are ready; all of them are handled together.
            self._connection.process_data_events(time_limit=0.2)
            if buffer:
                batch, buffer[:] = list(buffer), []
                self._handle_batch(channel, batch)
            if cancelled:
                # Connect afresh: queues and bindings are declared again, then consumed.
                raise pika.exceptions.ConsumerCancelled(
                    f"the broker cancelled consumer {cancelled[0]}"
                )
        channel.close()

    def _close_connection(self) -> None:
        if self._connection is not None and self._connection.is_open:
            try:
                self._connection.close()
            except Exception as exc:
                log.debug("closing consumer connection: %s", exc)
        self._connection = None

    # -- handling ----------------------------------------------------------------------

    def _handle_batch(self, channel: BlockingChannel, deliveries: list[Delivery]) -> None:
        """Handle what arrived together in one transaction, optimistically.

        The common case, every handler succeeding, costs one multi-row inbox insert and one
        commit for the whole batch. If any handler fails, or the commit
        does, the batch is rolled back and every message is handled in a transaction of
        its own, where a failure concerns that message only.
        """
        ready: list[tuple[Delivery, Envelope, Handler]] = []
        for delivery in deliveries:
            parsed = self._parse(channel, delivery)
            if parsed is not None:
                ready.append((delivery, *parsed))
        if not ready:
            return
        outcomes: list[tuple[Delivery, Envelope, str]] = []
        alone: list[tuple[Delivery, Envelope, Handler]] = []
        if len(ready) == 1:
            alone = ready
        else:
            try:
                outcomes = self._handle_together(ready)
            except Exception as exc:
                log.info("batch of %s failed (%s): handling one by one", len(ready), exc)
                alone = ready
        for delivery, envelope, outcome in outcomes:
            channel.basic_ack(delivery.method.delivery_tag)
            self._count(envelope, outcome)
        for delivery, envelope, handler in alone:
            started = time.perf_counter()
            try:
                outcome = self._handle(handler, envelope)
            except Exception as exc:
                self._fail(channel, delivery, envelope, exc)
                continue
            HANDLER_SECONDS.labels(self.service, envelope.type).observe(
                time.perf_counter() - started
            )
            channel.basic_ack(delivery.method.delivery_tag)
            self._count(envelope, outcome)

    def _handle_together(
        self, ready: list[tuple[Delivery, Envelope, Handler]]
    ) -> list[tuple[Delivery, Envelope, str]]:
        outcomes: list[tuple[Delivery, Envelope, str]] = []
        with self.session_factory() as session, session.begin():
            fresh = self._record_in_inbox(session, [envelope for _, envelope, _ in ready])
            for delivery, envelope, handler in ready:
                if envelope.id not in fresh:
                    outcomes.append((delivery, envelope, "duplicate"))
                    continue
                fresh.discard(envelope.id)  # the same message twice in a batch: once
                started = time.perf_counter()
                self._run_handler(session, handler, envelope)
                HANDLER_SECONDS.labels(self.service, envelope.type).observe(
                    time.perf_counter() - started
                )
                outcomes.append((delivery, envelope, "handled"))
        return outcomes

    def _parse(
        self, channel: BlockingChannel, delivery: Delivery
    ) -> tuple[Envelope, Handler] | None:
        """The envelope and its handler, or None after dead-lettering what cannot be handled."""
        try:
            envelope = Envelope.from_body(delivery.body)
        except EnvelopeError as exc:
            self._dead_letter(channel, delivery, "undeserialisable", str(exc))
            return None
        handler = self.handler_for(delivery.queue, envelope.type)
        if handler is None:
            reason = f"no handler for {envelope.type!r} on {delivery.queue}"
            self._dead_letter(channel, delivery, "unknown_type", reason)
            self._notify(envelope, "dead_lettered")
            return None
        return envelope, handler

    def _record_in_inbox(self, session: Session, envelopes: list[Envelope]) -> set[str]:
        """Insert the inbox rows first; the ids returned are those not handled before.

        One statement instead of a look-up and an insert. On PostgreSQL a concurrent
        consumer's uncommitted row of the same id makes this wait for its outcome.
        """
        now = utcnow()
        values = [
            {
                "message_id": envelope.id,
                "consumer": self.consumer_name,
                "type": envelope.type,
                "handled_at": now,
            }
            for envelope in envelopes
        ]
        if is_postgresql(session):
            return postgresql.record_in_inbox(session, values)
        return sqlite.record_in_inbox(session, values)

    def _run_handler(self, session: Session, handler: Handler, envelope: Envelope) -> None:
        with message_context(envelope.correlation_id, envelope.id):
            handler(session, envelope)

    def _count(self, envelope: Envelope, outcome: str) -> None:
        MESSAGES_HANDLED.labels(self.service, envelope.type, outcome).inc()
        self.handled_total += outcome == "handled"
        self._notify(envelope, outcome)

    def _fail(
        self, channel: BlockingChannel, delivery: Delivery, envelope: Envelope, exc: Exception
    ) -> None:
        """Retry later through a delay queue, or dead-letter when retrying cannot help."""
        if isinstance(exc, PermanentError):
            self._dead_letter(channel, delivery, "permanent", str(exc))
            self._notify(envelope, "dead_lettered")
            return
        log.warning(
            "handler failed: %s",
            exc,
            extra={"service": self.service, "type": envelope.type, "message_id": envelope.id},
        )
        attempts = int((delivery.properties.headers or {}).get(HEADER_ATTEMPTS, 0))
        if attempts < len(self.settings.retry_delays):
            self._retry(channel, delivery, attempts + 1)
            MESSAGES_HANDLED.labels(self.service, envelope.type, "retried").inc()
            self._notify(envelope, "retried")
        else:
            reason = f"{type(exc).__name__}: {exc}"
            self._dead_letter(channel, delivery, "handler_failed", reason)
            self._notify(envelope, "dead_lettered")

    def _handle(self, handler: Handler, envelope: Envelope) -> str:
        """Run the handler and record the inbox row in one transaction."""
        with self.session_factory() as session, session.begin():
            if not self._record_in_inbox(session, [envelope]):
                return "duplicate"
            self._run_handler(session, handler, envelope)
        return "handled"

    def _retry(self, channel: BlockingChannel, delivery: Delivery, attempts: int) -> None:
        headers = dict(delivery.properties.headers or {})
        headers[HEADER_ATTEMPTS] = attempts
        headers.setdefault(HEADER_ORIGINAL_ROUTING_KEY, delivery.method.routing_key)
        channel.basic_publish(
            "",
            self.names.retry_queue(delivery.queue, attempts),
            delivery.body,
            _copy_properties(delivery.properties, headers),
            mandatory=True,
        )
        channel.basic_ack(delivery.method.delivery_tag)

    def _dead_letter(
        self, channel: BlockingChannel, delivery: Delivery, kind: str, reason: str
    ) -> None:
        properties = delivery.properties
        headers = dict(properties.headers or {})
        headers.update(
            {
                HEADER_FAILURE_KIND: kind,
                HEADER_FAILURE_REASON: reason[:1000],
                HEADER_FAILED_AT: format_timestamp(utcnow()),
                HEADER_ORIGINAL_QUEUE: delivery.queue,
                HEADER_ATTEMPTS: int(headers.get(HEADER_ATTEMPTS, 0)),
            }
        )
        headers.setdefault(HEADER_ORIGINAL_ROUTING_KEY, delivery.method.routing_key)
        log.error(
            "message dead-lettered: %s",
            kind,
            extra={"service": self.service, "message_id": properties.message_id, "reason": reason},
        )
        channel.basic_publish(
            self.names.dead_letter_exchange,
            self.names.dead_letter_routing_key(self.service),
            delivery.body,
            _copy_properties(properties, headers),
            mandatory=True,
        )
        channel.basic_ack(delivery.method.delivery_tag)
        MESSAGES_HANDLED.labels(self.service, properties.type or "unknown", "dead_lettered").inc()

    def _notify(self, envelope: Envelope, outcome: str) -> None:
        for observer in self._observers:
            observer(envelope, outcome)


def _copy_properties(properties: BasicProperties, headers: dict[str, Any]) -> BasicProperties:
    return BasicProperties(
        message_id=properties.message_id,
        type=properties.type,
        content_type=properties.content_type,
        correlation_id=properties.correlation_id,
        delivery_mode=2,
        headers=headers,
    )
