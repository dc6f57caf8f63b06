"""The gateway's Prometheus metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "portal_gateway_requests_total", "Requests through the gateway", ["upstream", "status"]
)
SECONDS = Histogram(
    "portal_gateway_upstream_seconds", "Time to the upstream's response headers", ["upstream"]
)


_counted: dict[tuple[str, int], Any] = {}
_timed: dict[str, Any] = {}


def count(upstream: str, status: int) -> None:
    """One request answered; the labelled child is looked up once (labels() is slow)."""
    child = _counted.get((upstream, status))
    if child is None:
        child = _counted[(upstream, status)] = REQUESTS.labels(upstream, str(status))
    child.inc()


def observe(upstream: str, seconds: float) -> None:
    child = _timed.get(upstream)
    if child is None:
        child = _timed[upstream] = SECONDS.labels(upstream)
    child.observe(seconds)
