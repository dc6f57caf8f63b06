"""Idempotent declaration of exchanges, queues and bindings.

Declared by each process at start and again after every reconnect, so a broker that
lost its state (or a fresh one) gets everything back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from services.core.bus.names import Names
from services.core.config import BusSettings

UNROUTED_SUFFIX = "portal.unrouted"
UNROUTED_TTL_MS = 7 * 24 * 3600 * 1000
# portal.unrouted keeps at most this many events, dropping the oldest first (about 7 MB
# at a typical event's size). Queue arguments cannot change once the queue exists: the
# broker's policy `portal-unrouted` (deploy/rabbitmq/definitions.json) bounds a queue
# declared before; see docs/operations.md ("portal.unrouted").
UNROUTED_MAX_LENGTH = 10_000
UNROUTED_ARGUMENTS: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-message-ttl": UNROUTED_TTL_MS,
    "x-max-length": UNROUTED_MAX_LENGTH,
    "x-overflow": "drop-head",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueSpec:
    """A consuming queue of a service and the routing keys bound to it."""

    name: str
    exchange: str
    routing_keys: Sequence[str] = field(default_factory=tuple)


def connection_parameters(settings: BusSettings) -> list[pika.URLParameters]:
    """One set of parameters per broker address, in order (AMQP_URL may list a cluster's
    nodes): `pika.BlockingConnection` takes the list and tries each in turn."""
    parameters = []
    for url in settings.amqp_urls:
        params = pika.URLParameters(url)
        params.heartbeat = settings.heartbeat
        params.blocked_connection_timeout = 60
        params.connection_attempts = 1
        params.socket_timeout = 5
        parameters.append(params)
    return parameters


def declare_exchanges(channel: BlockingChannel, names: Names) -> None:
    """The shared exchanges; any process may declare them, they are the same everywhere."""
    unrouted = f"{names.namespace}{UNROUTED_SUFFIX}"
    # Events nobody subscribes to yet are kept a while instead of being returned.
    channel.exchange_declare(unrouted, exchange_type="fanout", durable=True)
    declare_unrouted_queue(channel, unrouted)
    channel.queue_bind(unrouted, unrouted)
    channel.exchange_declare(
        names.events_exchange,
        exchange_type="topic",
        durable=True,
        arguments={"alternate-exchange": unrouted},
    )
    channel.exchange_declare(names.commands_exchange, exchange_type="direct", durable=True)
    channel.exchange_declare(names.dead_letter_exchange, exchange_type="direct", durable=True)


def declare_unrouted_queue(channel: BlockingChannel, name: str) -> None:
    """portal.unrouted with its bound; one declared before the bound existed is kept as it
    is (redeclaring it would be refused) and bounded by the broker's policy instead."""
    side = channel.connection.channel()  # a refusal closes this channel, not the caller's
    try:
        side.queue_declare(name, durable=True, arguments=UNROUTED_ARGUMENTS)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code != 406:  # PRECONDITION_FAILED: other arguments
            raise
        log.warning(
            "%s exists without its length bound; the policy portal-unrouted bounds it "
            "(see docs/operations.md)",
            name,
        )
    else:
        side.close()


def consuming_queue_arguments(names: Names, service: str, settings: BusSettings) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": names.dead_letter_exchange,
        "x-dead-letter-routing-key": names.dead_letter_routing_key(service),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
        # A message that keeps killing its consumer is dead-lettered by the broker itself.
        "x-delivery-limit": settings.delivery_limit,
    }


def declare_service_queues(
    channel: BlockingChannel,
    names: Names,
    service: str,
    queues: Sequence[QueueSpec],
    settings: BusSettings,
) -> None:
    """A service's consuming queues with their retry ladders and its DLQ."""
    dlq = names.dead_letter_queue(service)
    channel.queue_declare(dlq, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(
        dlq, names.dead_letter_exchange, routing_key=names.dead_letter_routing_key(service)
    )
    for spec in queues:
        channel.queue_declare(
            spec.name, durable=True, arguments=consuming_queue_arguments(names, service, settings)
        )
        for key in spec.routing_keys:
            channel.queue_bind(spec.name, spec.exchange, routing_key=key)
        for level, delay in enumerate(settings.retry_delays, start=1):
            channel.queue_declare(
                names.retry_queue(spec.name, level),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": spec.name,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )


def delete_namespace(
    channel: BlockingChannel, names: Names, services: Sequence[str], settings: BusSettings
) -> None:
    """Remove everything a namespace declared (tests clean up with it)."""
    for service in services:
        for queue in (names.events_queue(service), names.commands_queue(service)):
            for level in range(1, len(settings.retry_delays) + 1):
                channel.queue_delete(names.retry_queue(queue, level))
            channel.queue_delete(queue)
        channel.queue_delete(names.dead_letter_queue(service))
    unrouted = f"{names.namespace}{UNROUTED_SUFFIX}"
    channel.queue_delete(unrouted)
    for exchange in (
        names.events_exchange,
        names.commands_exchange,
        names.dead_letter_exchange,
        unrouted,
    ):
        channel.exchange_delete(exchange)
