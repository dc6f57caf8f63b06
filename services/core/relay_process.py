"""The outbox relay in a process of its own (WORKER_RELAY_PROCESS=true).

In one process the relay's threads and the consumer's share the GIL, so a delivery can
wait for a claim to finish its Python work and the other way round. Apart, each has a
core's worth of interpreter. The parent supervises the child: it mirrors the relay's
connected flag for readiness, restarts a child that died, and stops it gracefully.
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

from services.core.bus.names import Names
from services.core.bus.relay import OutboxRelay
from services.core.config import ServiceSettings
from services.core.db import make_engine, make_session_factory
from services.core.logs import configure_logging

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("spawn")  # no threads or sockets inherited


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
    # A parent killed outright (SIGKILL, OOM) sets nothing: the child is then adopted by
    # another process, and stops as it would have been told to.
    while not stopping.is_set() and os.getppid() == parent:
        connected.set(relay.connected)
        time.sleep(0.05)
    relay.stop()
    thread.join()
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
        self.process: SpawnProcess | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def run(self) -> None:
        """Start the child, restart it if it dies, return when it ended after stop()."""
        backoff = 0.5
        while not self._stopped.is_set():
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
                ),
                name=f"{self.settings.service}-relay",
            )
            self.process.start()
            self.process.join()
            self._connected.set(False)
            if self._stopped.is_set():
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
