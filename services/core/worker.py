"""Moved to services.core.bus (the worker: outbox relay, consumer and health endpoint)."""

from __future__ import annotations

# transitional re-export: removed once services import services.core.bus / contracts
from services.core.bus.worker import Worker, serve_health

__all__ = ["Worker", "serve_health"]
