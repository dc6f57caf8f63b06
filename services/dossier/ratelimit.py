"""A small per-process fixed-window limit for public calls (the gateway does the real one)."""

from __future__ import annotations

import threading
import time

from services.core.config import ConfigError

PERIODS = {"second": 1, "minute": 60, "hour": 3600}


class WindowLimit:
    """At most `limit` calls per key per window; `spec` is like '60/minute' ('' = off)."""

    def __init__(self, spec: str, max_keys: int = 100_000) -> None:
        self.limit = 0
        self.window = 60
        self.max_keys = max_keys
        if spec:
            count, _, period = spec.partition("/")
            if not count.strip().isdigit() or period.strip() not in PERIODS:
                raise ConfigError(f"rate limit must look like '60/minute', got {spec!r}")
            self.limit = int(count)
            self.window = PERIODS[period.strip()]
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._window_start = 0

    def hit(self, key: str) -> int:
        """0 when allowed, else the seconds until the window resets."""
        if self.limit <= 0:
            return 0
        now = int(time.time())
        start = now - now % self.window
        with self._lock:
            if start != self._window_start or len(self._counts) > self.max_keys:
                self._window_start = start
                self._counts = {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        return 0 if count <= self.limit else start + self.window - now
