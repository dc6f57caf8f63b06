"""The worker process of a service: outbox relay, consumers and a health endpoint."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from prometheus_client import REGISTRY, CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.consumer import Consumer
from services.core.bus.observer import BusObserver
from services.core.bus.relay import OutboxRelay
from services.core.bus.relay_process import RelayProcess
from services.core.config import ServiceSettings
from services.core.db import ping
from services.core.metrics import exposition

log = logging.getLogger(__name__)


class Worker:
    """Runs the relay in a thread and the consumer (if any handlers) in another."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: Engine,
        session_factory: sessionmaker[Session],
        consumer: Consumer | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.relay: OutboxRelay | RelayProcess
        url = engine.url.render_as_string(hide_password=False)
        if settings.bus.relay_apart(url):
            self.relay = RelayProcess(settings, url)
        else:
            self.relay = OutboxRelay(session_factory, settings.bus, service=settings.service)
        self.consumer = consumer if consumer is not None and consumer.queue_specs() else None
        # The outbox backlog and the queues' depths for /metrics, looked at on a timer.
        self.observer = BusObserver(
            settings.service,
            session_factory,
            settings.bus,
            [spec.name for spec in self.consumer.queue_specs()] if self.consumer else (),
            names=self.consumer.names if self.consumer else None,
        )
        self._threads: list[threading.Thread] = []
        self._health: ThreadingHTTPServer | None = None

    def ready(self) -> dict[str, bool]:
        checks = {"database": ping(self.engine), "relay": self.relay.connected}
        if self.consumer is not None:
            checks["consumer"] = self.consumer.connected
        return checks

    def start(self) -> None:
        targets: list[tuple[str, Callable[[], None]]] = [("relay", self.relay.run)]
        if self.consumer is not None:
            targets.append(("consumer", self.consumer.run))
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"{self.settings.service}-{name}")
            thread.start()
            self._threads.append(thread)
        if self.settings.worker_health_port:
            self.observer.start()
            self._health = serve_health(
                self.settings.worker_health_port,
                self.ready,
                self.settings.worker_health_host,
                before_metrics=self.relay.mirror_metrics
                if isinstance(self.relay, RelayProcess)
                else None,
                registries=(self.observer.registry(),),
            )

    def stop(self) -> None:
        self.observer.stop()
        self.relay.stop()
        if self.consumer is not None:
            self.consumer.stop()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()
        if self._health is not None:
            self._health.shutdown()

    def run_forever(self) -> None:
        """Start, stop gracefully on SIGTERM or SIGINT, return when every thread ended."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping on signal %s", signum)
            self.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        # The relay, its database thread and the consumer share the GIL; a thread that
        # is woken by the network should not wait the default 5 ms for its turn.
        sys.setswitchinterval(self.settings.bus.gil_switch_interval)
        self.start()
        log.info("worker started", extra={"service": self.settings.service})
        self.join()


def serve_health(
    port: int,
    ready: Callable[[], dict[str, bool]],
    host: str = "127.0.0.1",
    before_metrics: Callable[[], None] | None = None,
    registries: Sequence[CollectorRegistry] = (),
) -> ThreadingHTTPServer:
    """/healthz, /readyz and /metrics of a worker on `host`:`port`, in a thread.

    /metrics is this process's default registry followed by `registries`.
    """

    class HealthHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, "application/json", b'{"status":"ok"}')
            elif self.path == "/readyz":
                checks = ready()
                status = 200 if all(checks.values()) else 503
                self._send(status, "application/json", json.dumps(checks).encode())
            elif self.path == "/metrics":
                if before_metrics is not None:
                    before_metrics()
                body, content_type = exposition(REGISTRY, *registries)
                self._send(200, content_type, body)
            else:
                self._send(404, "application/json", b'{"status":"not found"}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), HealthHandler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
