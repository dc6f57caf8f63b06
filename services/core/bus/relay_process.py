"""The outbox relay in a process of its own (WORKER_RELAY_PROCESS: by default on SQLite).

In one process the relay's threads and the consumer's share the GIL, so a delivery can
wait for a claim to finish its Python work and the other way round. Apart, each has a
core's worth of interpreter. The parent supervises the child: it mirrors the relay's
connected flag for readiness and its counters for /metrics, restarts a child that died,
and stops it gracefully.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.context import SpawnProcess
from typing import Any

from prometheus_client import REGISTRY

from services.core.bus.names import Names
from services.core.bus.relay import OutboxRelay
from services.core.config import ServiceSettings
from services.core.db import make_engine, make_session_factory
from services.core.logs import configure_logging
from services.core.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED, RELAY_CONNECTED

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("spawn")  # no threads or sockets inherited


# The relay's counters, counted in the child and mirrored into the worker's own
# (the worker's /metrics is what is scraped; a spawned child's registry is its own).
_COUNTERS = (
    ("portal_outbox_published_total", OUTBOX_PUBLISHED),
    ("portal_outbox_publish_failures_total", OUTBOX_PUBLISH_FAILURES),
)


class _Flag:
    """A byte both processes see, without a lock: a child killed while holding a lock
    (as a multiprocessing Event's) would leave the parent waiting forever."""

    def __init__(self) -> None:
        self._value: Any = _CONTEXT.RawValue("b", 0)

    def set(self, value: bool = True) -> None:
        self._value.value = int(value)

    def is_set(self) -> bool:
        return bool(self._value.value)


def _relay_main(
    settings: ServiceSettings,
    url: str,
    connect_args: dict[str, Any],
    names: Names | None,
    connected: _Flag,
    stopping: _Flag,
    parent: int,
    counts: Any,
) -> None:
    """The child: run one relay until the parent sets `stopping` or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(settings.service, settings.log_level, settings.log_json)
    sys.setswitchinterval(settings.bus.gil_switch_interval)
    engine = make_engine(url, connect_args=connect_args)
    relay = OutboxRelay(
        make_session_factory(engine), settings.bus, service=settings.service, names=names
    )
    thread = threading.Thread(target=relay.run, name=f"{settings.service}-relay")
    thread.start()
    labels = {"service": settings.service}

    def share_counts() -> None:
        for i, (name, _) in enumerate(_COUNTERS):
            counts[i] = REGISTRY.get_sample_value(name, labels) or 0.0

    # A parent killed outright (SIGKILL, OOM) sets nothing: the child is then adopted by
    # another process, and stops as it would have been told to.
    while not stopping.is_set() and os.getppid() == parent:
        connected.set(relay.connected)
        share_counts()
        time.sleep(0.05)
    relay.stop()
    thread.join()
    share_counts()
    connected.set(False)
    engine.dispose()


class RelayProcess:
    """Runs an OutboxRelay in a child process; the same run/stop/connected as the relay."""

    def __init__(
        self,
        settings: ServiceSettings,
        url: str,
        *,
        connect_args: dict[str, Any] | None = None,
        names: Names | None = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.connect_args = dict(connect_args or {})
        self.names = names
        self._connected = _Flag()
        self._stopping = _Flag()
        self._stopped = threading.Event()
        self._counts: Any = _CONTEXT.RawArray("d", len(_COUNTERS))  # the child's counters
        self._mirrored = [0.0] * len(_COUNTERS)  # what of them this process has counted
        self._mirror_lock = threading.Lock()
        self.process: SpawnProcess | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def mirror_metrics(self) -> None:
        """Bring this process's relay metrics up to the child's (before a scrape)."""
        service = self.settings.service
        with self._mirror_lock:
            for i, (_, counter) in enumerate(_COUNTERS):
                counted = self._counts[i]
                if counted > self._mirrored[i]:
                    counter.labels(service).inc(counted - self._mirrored[i])
                    self._mirrored[i] = counted
        RELAY_CONNECTED.labels(service).set(1 if self.connected else 0)

    def _new_child_counts(self) -> None:
        """Count what the last child counted; the next one starts from zero."""
        self.mirror_metrics()
        with self._mirror_lock:
            for i in range(len(_COUNTERS)):
                self._counts[i] = 0.0
                self._mirrored[i] = 0.0

    def run(self) -> None:
        """Start the child, restart it if it dies, return when it ended after stop()."""
        backoff = 0.5
        while not self._stopped.is_set():
            self._new_child_counts()
            self.process = _CONTEXT.Process(
                target=_relay_main,
                args=(
                    self.settings,
                    self.url,
                    self.connect_args,
                    self.names,
                    self._connected,
                    self._stopping,
                    os.getpid(),
                    self._counts,
                ),
                name=f"{self.settings.service}-relay",
            )
            self.process.start()
            self.process.join()
            self._connected.set(False)
            if self._stopped.is_set():
                self.mirror_metrics()
                return
            log.error(
                "relay process exited with %s; restarting",
                self.process.exitcode,
                extra={"service": self.settings.service},
            )
            self._stopped.wait(backoff)
            backoff = min(self.settings.bus.reconnect_max_backoff, backoff * 2)

    def stop(self) -> None:
        """Ask the child to finish its batches in flight and exit (thread-safe)."""
        self._stopped.set()
        self._stopping.set()
