"""Every exchange, queue and routing key name, in one place.

A non-empty namespace prefixes every name: tests use it to run side by side on
one broker; production leaves it empty.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_EXCHANGE = "portal.events"
COMMANDS_EXCHANGE = "portal.commands"
DEAD_LETTER_EXCHANGE = "portal.dlx"

# Headers the bus writes on a message it retries or dead-letters.
HEADER_ATTEMPTS = "x-portal-attempts"
HEADER_FAILURE_REASON = "x-portal-failure-reason"
HEADER_FAILURE_KIND = "x-portal-failure-kind"
HEADER_FAILED_AT = "x-portal-failed-at"
HEADER_ORIGINAL_ROUTING_KEY = "x-portal-routing-key"
HEADER_ORIGINAL_QUEUE = "x-portal-queue"


@dataclass(frozen=True)
class Names:
    """The broker names of one deployment (optionally namespaced)."""

    namespace: str = ""

    def _n(self, name: str) -> str:
        return f"{self.namespace}{name}"

    @property
    def events_exchange(self) -> str:
        return self._n(EVENTS_EXCHANGE)

    @property
    def commands_exchange(self) -> str:
        return self._n(COMMANDS_EXCHANGE)

    @property
    def dead_letter_exchange(self) -> str:
        return self._n(DEAD_LETTER_EXCHANGE)

    def events_queue(self, service: str) -> str:
        """The durable quorum queue a service consumes events from."""
        return self._n(f"{service}.events")

    def commands_queue(self, service: str) -> str:
        """The durable quorum queue a service consumes commands from."""
        return self._n(f"{service}.commands")

    def dead_letter_queue(self, service: str) -> str:
        return self._n(f"{service}.dlq")

    def dead_letter_routing_key(self, service: str) -> str:
        return self._n(service)

    def retry_queue(self, queue: str, level: int) -> str:
        """The delay queue for the level-th retry of messages of `queue`."""
        return f"{queue}.retry.{level}"

    def exchange_for(self, kind: str) -> str:
        return self.commands_exchange if kind == "command" else self.events_exchange
