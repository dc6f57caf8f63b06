"""Helpers for tests: wait until a message was handled, or until a condition holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from services.core.bus import Consumer, Envelope


class HandledWaiter:
    """Records what a consumer did with each message and lets a test wait for it."""

    def __init__(self, consumer: Consumer) -> None:
        self._cond = threading.Condition()
        self.outcomes: dict[str, list[str]] = {}
        consumer.observe(self._seen)

    def _seen(self, envelope: Envelope, outcome: str) -> None:
        with self._cond:
            self.outcomes.setdefault(envelope.id, []).append(outcome)
            self._cond.notify_all()

    def wait_for(self, message_id: str, outcome: str = "handled", timeout: float = 10.0) -> None:
        """Block until the message reached `outcome`; AssertionError after `timeout` seconds."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: outcome in self.outcomes.get(message_id, []), timeout
            ):
                raise AssertionError(
                    f"message {message_id} not {outcome} within {timeout}s: "
                    f"{self.outcomes.get(message_id)}"
                )

    def wait_for_all(self, message_ids: list[str], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for message_id in message_ids:
            self.wait_for(message_id, timeout=max(0.0, deadline - time.monotonic()))


def wait_until(
    condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> None:
    """Poll `condition` until true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)
