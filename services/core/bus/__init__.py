"""The event backbone as a library: import what a service needs from here.

Writing: `record_event` / `send_command` in the caller's transaction (`OutboxContext` in
the session factory). Publishing: `OutboxRelay` (or `RelayProcess`, the same in a child
process). Consuming: `Consumer` with idempotent handlers. Running both: `Worker`. Message
names and payloads are the services' contracts (`services.core.contracts`), not the bus's.
"""

from services.core.bus.batches import BatchTimes
from services.core.bus.consumer import Consumer, Handler, PermanentError
from services.core.bus.dlq import (
    DeadLetter,
    format_dead_letters,
    list_dead_letters,
    replay_dead_letters,
)
from services.core.bus.envelope import Envelope, EnvelopeError
from services.core.bus.migration import create_bus_tables, drop_bus_tables
from services.core.bus.models import BigId, BusBase, InboxMessage, OutboxMessage
from services.core.bus.names import Names
from services.core.bus.outbox import OutboxContext, record_event, send_command
from services.core.bus.relay import OutboxRelay
from services.core.bus.relay_process import RelayProcess
from services.core.bus.store import OutboxStatus, OutboxStore, PendingMessage
from services.core.bus.topology import (
    QueueSpec,
    connection_parameters,
    declare_exchanges,
    delete_namespace,
)
from services.core.bus.worker import Worker, serve_health

__all__ = [
    "BatchTimes",
    "BigId",
    "BusBase",
    "Consumer",
    "DeadLetter",
    "Envelope",
    "EnvelopeError",
    "Handler",
    "InboxMessage",
    "Names",
    "OutboxContext",
    "OutboxMessage",
    "OutboxRelay",
    "OutboxStatus",
    "OutboxStore",
    "PendingMessage",
    "PermanentError",
    "QueueSpec",
    "RelayProcess",
    "Worker",
    "connection_parameters",
    "create_bus_tables",
    "declare_exchanges",
    "delete_namespace",
    "drop_bus_tables",
    "format_dead_letters",
    "list_dead_letters",
    "record_event",
    "replay_dead_letters",
    "send_command",
    "serve_health",
]
