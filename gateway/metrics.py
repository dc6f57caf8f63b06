"""The gateway's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "portal_gateway_requests_total", "Requests through the gateway", ["upstream", "status"]
)
SECONDS = Histogram(
    "portal_gateway_upstream_seconds", "Time to the upstream's response headers", ["upstream"]
)
