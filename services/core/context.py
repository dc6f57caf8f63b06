"""Per-request and per-message context: the ids that tie logs and events together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


@contextmanager
def message_context(correlation_id: str | None, causation_id: str | None) -> Iterator[None]:
    """Within the block, events recorded carry these correlation and causation ids."""
    c_token = correlation_id_var.set(correlation_id)
    k_token = causation_id_var.set(causation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(c_token)
        causation_id_var.reset(k_token)
