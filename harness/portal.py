"""A whole portal deployment in subprocesses, for end-to-end tests and the load benchmark.

`PortalDeployment` starts, on free ports, what `make run` starts: the carrier
simulator, each service's web (gunicorn) and worker, and the gateway; it
migrates every database, loads the demo data and waits until everything
answers. Each deployment has its own bus namespace and databases, so several
(a national portal and two provinces) can run side by side on one broker.
Process output goes to `<base_dir>/logs/<process>.log`.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pika

from gateway.config import DEFAULT_RATE_LIMITS
from services.core.bus import Names, connection_parameters, delete_namespace
from services.core.config import BusSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "catalog", "dossier", "notify")
# The gateway's name of each service's path prefix.
GATEWAY_PREFIX = {"identity": "identity", "catalog": "catalog", "dossier": "dossiers"}
GATEWAY_PREFIX["notify"] = "notify"
START_TIMEOUT = 90.0


def procfile_command(name: str) -> list[str]:
    """The Procfile's command of a process, its gunicorn options included."""
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{name}:"):
            return shlex.split(line.split(":", 1)[1])
    raise KeyError(name)


def worker_options(name: str) -> list[str]:
    """The Procfile's gunicorn options of a process that say how its workers run
    (worker class, connections, keep-alive): not its address, count or app."""
    options = iter(procfile_command(name)[1:-1])
    kept = []
    for option in options:
        if option in ("--bind", "--workers"):
            next(options)
        elif option != "--no-control-socket":
            kept.append(option)
    return kept


# Deployments take their ports some seconds before their processes bind them. A port
# the OS hands out (bind to 0) comes from the ephemeral range, where another test's
# deployment or any client socket may take it meanwhile; so each xdist worker counts
# through a range of its own below that range (Linux: 32768 and up) instead.
PORTS_PER_WORKER = 3000
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_FIRST_PORT = 20000 + PORTS_PER_WORKER * ((int(_WORKER) if _WORKER.isdigit() else 0) % 4)
_next_ports = iter(range(_FIRST_PORT, _FIRST_PORT + PORTS_PER_WORKER))


def free_port() -> int:
    """A port no other deployment of this test run will be given."""
    for port in _next_ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left")


def _answers(url: str, *, ready: bool = False) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.status != 200:
                return False
            return not ready or bool(json.load(response).get("ready", True))
    except (OSError, ValueError):
        return False


@dataclass
class PortalDeployment:
    """One deployment (national or a province) of every process, on free ports."""

    base_dir: Path
    amqp_url: str
    role: str = "national"
    province: str = ""
    database_urls: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    namespace: str = field(default_factory=lambda: f"p{uuid.uuid4().hex[:8]}.")
    web_workers: int = 1
    load_demo: bool = True
    # The services whose demo data load_demo loads (a national test portal may skip the
    # catalogue so that its union holds only what the provinces send).
    demo_services: tuple[str, ...] = SERVICES
    # The services whose web and worker run (all by default); the carrier runs with identity.
    services: tuple[str, ...] = SERVICES
    start_timeout: float = START_TIMEOUT
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def assign_ports(self) -> None:
        """Give every process its port now (a federation needs some before starting)."""
        for name in (*SERVICES, "gateway", "carrier", *(f"{s}-worker" for s in SERVICES)):
            self.ports.setdefault(name, free_port())

    def environment(self) -> dict[str, str]:
        """The environment every process of this deployment shares."""
        self.assign_ports()
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PORTAL_ENV": "development",
            "PORTAL_ROLE": self.role,
            "PORTAL_PROVINCE": self.province,
            "LOG_FORMAT": "text",
            "AMQP_URL": self.amqp_url,
            "BUS_NAMESPACE": self.namespace,
            "NOTIFY_SMS_PROVIDER": "dev-outbox",
            "NOTIFY_EMAIL_PROVIDER": "dev-outbox",
            "CARRIER_REGISTRY_URL": f"http://127.0.0.1:{self.ports['carrier']}",
            "CATALOG_URL": self.service_url("catalog"),
            "IDENTITY_JWKS_URL": (
                f"{self.service_url('identity')}/api/identity/.well-known/jwks.json"
            ),
            "TOKEN_ISSUER": f"{self.gateway_url}/api/identity",
            "DOSSIER_BLOB_DIR": str(self.base_dir / "blobs"),
        }
        for service in SERVICES:
            env[f"{service.upper()}_WORKER_HEALTH_PORT"] = str(self.ports[f"{service}-worker"])
            env[f"{service.upper()}_DATABASE_URL"] = self.database_urls.get(
                service, f"sqlite:///{self.base_dir / (service + '.db')}"
            )
            env[f"GATEWAY_{GATEWAY_PREFIX[service].upper()}_URL"] = self.service_url(service)
        # A test deployment is one client IP doing the work of many citizens: the gateway's
        # per-IP limits are lifted unless a test sets its own (tests/gateway tests them).
        for name in DEFAULT_RATE_LIMITS:
            env[f"GATEWAY_RATE_LIMIT_{name.upper()}"] = "100000/minute"
        env.update(self.env)
        return env

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        logs = self.base_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as out:
            self.processes[name] = subprocess.Popen(
                args, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT
            )

    def _manage(self, service: str, command: str, env: Mapping[str, str]) -> None:
        result = subprocess.run(
            [sys.executable, "-m", f"services.{service}.manage", command],
            cwd=ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{service} {command} failed:\n{result.stdout}\n{result.stderr}")

    def _gunicorn(self, port: int, app: str, *worker: str) -> list[str]:
        return [
            str(Path(sys.executable).with_name("gunicorn")),
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.web_workers),
            *(worker or ("--threads", "8")),
            app,
        ]

    def start(self) -> PortalDeployment:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        for service in self.services:
            self._manage(service, "migrate", env)
        if "identity" in self.services:
            self.start_carrier(env)
        for service in self.services:
            self.start_web(service, env)
            self.start_worker(service, env)
        self._spawn(
            "gateway",
            # The gateway's workers as the Procfile runs them (gevent).
            self._gunicorn(
                self.ports["gateway"], "gateway.app:create_app()", *worker_options("gateway")
            ),
            env,
        )
        self.wait_ready(self.start_timeout)
        if self.load_demo:
            for service in self.demo_services:
                self._manage(service, "load-demo", env)
        return self

    def start_carrier(self, env: Mapping[str, str]) -> None:
        carrier_csv = str(ROOT / "deploy" / "demo" / "subscribers.csv")
        port = str(self.ports["carrier"])
        args = [sys.executable, "-m", "deploy.simulators.carrier", "--port", port]
        self._spawn("carrier", [*args, "--csv", carrier_csv], env)

    def start_web(self, service: str, env: Mapping[str, str] | None = None) -> None:
        app = f"services.{service}.app:create_app()"
        name = f"{service}-web"
        # A web process whose Procfile line names a worker class (identity: gevent) runs
        # with that line's worker options; the thread-pool ones get more threads here.
        options = worker_options(name)
        worker = options if "--worker-class" in options else []
        self._spawn(
            name, self._gunicorn(self.ports[service], app, *worker), env or self.environment()
        )

    def start_worker(self, service: str, env: Mapping[str, str] | None = None) -> None:
        args = [sys.executable, "-m", f"services.{service}.worker"]
        self._spawn(f"{service}-worker", args, env or self.environment())

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Every web and worker ready (database and broker), the gateway answering."""
        checks = {f"{s}-web": f"{self.service_url(s)}/readyz" for s in self.services}
        checks.update(
            {
                f"{s}-worker": f"http://127.0.0.1:{self.ports[f'{s}-worker']}/readyz"
                for s in self.services
            }
        )
        checks["gateway"] = f"{self.gateway_url}/healthz"
        if "identity" in self.services:
            checks["carrier"] = f"http://127.0.0.1:{self.ports['carrier']}/healthz"
        deadline = time.monotonic() + timeout
        waiting = dict(checks)
        while waiting:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.log(name)}"
                    )
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout} s: {', '.join(sorted(waiting))}")
            waiting = {n: u for n, u in waiting.items() if not _answers(u, ready=True)}
            time.sleep(0.2)

    def log(self, name: str) -> Path:
        return self.base_dir / "logs" / f"{name}.log"

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one process (SIGKILL by default) and wait for it to end."""
        process = self.processes.pop(name)
        with suppress(ProcessLookupError):
            process.send_signal(sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            with suppress(ProcessLookupError):
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()
        with suppress(Exception):
            settings = BusSettings(amqp_url=self.amqp_url, namespace=self.namespace)
            with pika.BlockingConnection(connection_parameters(settings)) as conn:
                delete_namespace(conn.channel(), Names(self.namespace), list(SERVICES), settings)


@contextmanager
def running_portal(base_dir: Path, amqp_url: str, **options: object) -> Iterator[PortalDeployment]:
    """A started deployment for the length of a `with` block, stopped after."""
    deployment = PortalDeployment(base_dir=base_dir, amqp_url=amqp_url, **options)  # type: ignore[arg-type]
    try:
        yield deployment.start()
    finally:
        deployment.stop()
