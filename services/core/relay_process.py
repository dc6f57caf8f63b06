"""Moved to services.core.bus.relay_process (the outbox relay in a process of its own)."""

from __future__ import annotations

# transitional re-export: removed once services import services.core.bus / contracts
from services.core.bus.relay_process import RelayProcess

__all__ = ["RelayProcess"]
