"""Failing over between the nodes of a RabbitMQ cluster.

AMQP_URL (or AMQP_URLS) may name every node of a cluster. The relay and the consumer
hold one connection at a time; when it ends they try the nodes again, starting with the
node after the one they were on, so a node that went away is tried last instead of
being waited on first (a host that is down rather than refusing costs a connect
timeout). Quorum queues keep the messages on the surviving majority, so any node serves.
"""

from __future__ import annotations

import logging

import pika
import pika.exceptions

from services.core.bus.topology import connection_parameters
from services.core.config import BusSettings

log = logging.getLogger(__name__)


def broker_address(params: pika.ConnectionParameters) -> str:
    """`host:port` of a broker, for logs (never the credentials)."""
    return f"{params.host}:{params.port}"


class Brokers:
    """The brokers one long-lived client connects to, in the order it tries them."""

    def __init__(self, settings: BusSettings) -> None:
        self.parameters = connection_parameters(settings)
        self._start = 0
        self._current: int | None = None

    @property
    def current(self) -> pika.URLParameters | None:
        """The broker of the connection made last, if any."""
        return None if self._current is None else self.parameters[self._current]

    def in_turn(self) -> list[tuple[int, pika.URLParameters]]:
        """Every broker with its index, from the one to try first."""
        count = len(self.parameters)
        order = [(self._start + k) % count for k in range(count)]
        return [(index, self.parameters[index]) for index in order]

    def connect(self) -> pika.BlockingConnection:
        """A blocking connection to the first broker that accepts one, trying each in turn.

        Raises the last broker's AMQPConnectionError when none does.
        """
        error: pika.exceptions.AMQPConnectionError | None = None
        for index, params in self.in_turn():
            try:
                connection = pika.BlockingConnection(params)
            except pika.exceptions.AMQPConnectionError as exc:
                if len(self.parameters) > 1:
                    log.warning("broker %s refused a connection: %r", broker_address(params), exc)
                error = exc
                continue
            self._current = index
            return connection
        assert error is not None
        raise error

    def connection_ended(self) -> None:
        """The connection made last is gone: next time start with the broker after it."""
        if self._current is not None:
            self._start = (self._current + 1) % len(self.parameters)
            self._current = None
