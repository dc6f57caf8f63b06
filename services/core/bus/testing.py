"""Moved to tests/support/waiting.py: helpers for tests do not ship in the core."""

from __future__ import annotations

# transitional re-export: removed once services import services.core.bus / contracts
from tests.support.waiting import HandledWaiter, wait_until

__all__ = ["HandledWaiter", "wait_until"]
