"""Prometheus metrics shared by every process, and how a process answers a scrape.

A gunicorn web process has several workers; `gunicorn.conf.py` gives them one
prometheus-client multiprocess directory (`PROMETHEUS_MULTIPROC_DIR`, set before any
worker imports prometheus_client), and `exposition()` then answers with the sum of all
the workers, so every scrape sees the whole process and `rate()` is right. A worker
process (`python -m services.<name>.worker`) is one process: it answers from its own
registry, plus the bus gauges it observes (services/core/bus/observer.py).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from services.core.config import prometheus_multiprocess_dir

# The text exposition format generate_latest() writes, named as the format names itself
# (Flask's `mimetype=` would append a second charset, which strict scrapers refuse).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# Read once, as prometheus-client does when it is imported.
MULTIPROCESS_DIR = prometheus_multiprocess_dir()

OUTBOX_PUBLISHED = Counter(
    "portal_outbox_published_total", "Outbox rows confirmed by the broker", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "portal_outbox_publish_failures_total", "Outbox rows returned or nacked", ["service"]
)
RELAY_CONNECTED = Gauge(
    "portal_relay_connected",
    "1 when the relay has a channel",
    ["service"],
    multiprocess_mode="livemax",
)
CONSUMER_CONNECTED = Gauge(
    "portal_consumer_connected",
    "1 when the consumer has a channel",
    ["service"],
    multiprocess_mode="livemax",
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


def multiprocess_registry(directory: str) -> CollectorRegistry:
    """A registry that reads every worker's files in `directory` (dead workers' counters
    included, so a restarted worker does not make a counter go backwards)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def exposition(*registries: CollectorRegistry) -> tuple[bytes, str]:
    """The body and Content-Type of a /metrics answer.

    Without arguments: the whole process (all gunicorn workers in multiprocess mode,
    else this process's default registry). With registries: those, one after another
    (their metric names must differ).
    """
    if not registries:
        directory = MULTIPROCESS_DIR
        registries = (
            multiprocess_registry(directory)
            if directory and os.path.isdir(directory)
            else REGISTRY,
        )
    return b"".join(generate_latest(registry) for registry in registries), CONTENT_TYPE
