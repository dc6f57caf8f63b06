"""The event backbone: envelope, names, topology, outbox, relay, consumer."""

from services.core.bus.envelope import Envelope, EnvelopeError
from services.core.bus.names import Names
from services.core.bus.outbox import record_event, send_command

__all__ = ["Envelope", "EnvelopeError", "Names", "record_event", "send_command"]
