"""Prometheus metrics shared by every process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter(
    "portal_outbox_published_total", "Outbox rows confirmed by the broker", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "portal_outbox_publish_failures_total", "Outbox rows returned or nacked", ["service"]
)
RELAY_CONNECTED = Gauge("portal_relay_connected", "1 when the relay has a channel", ["service"])
CONSUMER_CONNECTED = Gauge(
    "portal_consumer_connected", "1 when the consumer has a channel", ["service"]
)
MESSAGES_HANDLED = Counter(
    "portal_messages_handled_total", "Messages handled by outcome", ["service", "type", "outcome"]
)
HANDLER_SECONDS = Histogram(
    "portal_handler_seconds", "Time a handler took, commit included", ["service", "type"]
)
HTTP_REQUESTS = Counter(
    "portal_http_requests_total", "HTTP requests by status", ["service", "method", "status"]
)
HTTP_SECONDS = Histogram("portal_http_request_seconds", "HTTP request duration", ["service"])
