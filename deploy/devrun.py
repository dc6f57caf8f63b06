"""`make run`: the whole portal on one machine, from source.

Checks that the portal's ports are free, uses (or starts) RabbitMQ, migrates every
service's database (SQLite files under var/ unless `<SERVICE>_DATABASE_URL` says
otherwise), starts every process of the Procfile under honcho, waits until each worker
has declared its queues, loads the demo data (idempotent: a second run adds nothing),
prints the portal URL, the demo accounts and where the OTPs are, and runs until Ctrl-C
or SIGTERM, which stop every process it started.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "deploy" / "demo"
SERVICES = ("identity", "catalog", "dossier", "notify")
GATEWAY_PREFIX = {"identity": "identity", "catalog": "catalog", "dossier": "dossiers"}
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
READY_TIMEOUT = 120
STOP_TIMEOUT = 20
# The port of each process, as an offset from the first port (8000 by default).
PORT_OFFSETS = {
    "gateway": 0,
    "identity-web": 1,
    "catalog-web": 2,
    "dossier-web": 3,
    "notify-web": 4,
    "carrier": 9,
    "identity-worker": 101,
    "catalog-worker": 102,
    "dossier-worker": 103,
    "notify-worker": 104,
}


class DevRunError(Exception):
    """Something `make run` cannot go on without; the message says what to do."""


@dataclass(frozen=True)
class Ports:
    """The local ports of every process of the Procfile."""

    first: int = 8000

    def of(self, process: str) -> int:
        return self.first + PORT_OFFSETS[process]

    def all(self) -> dict[str, int]:
        return {name: self.of(name) for name in PORT_OFFSETS}

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.of(process)}"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_ports_free(ports: Ports) -> None:
    """Refuse to start, naming each process whose port another program holds."""
    taken = [f"{port} ({name})" for name, port in ports.all().items() if not port_is_free(port)]
    if taken:
        raise DevRunError(
            f"port(s) already in use: {', '.join(taken)}. Is another 'make run' or the "
            "compose deployment running? Stop it, or start on other ports with "
            "'python -m deploy.devrun --first-port 18000'."
        )


def environment(ports: Ports, base: Mapping[str, str]) -> dict[str, str]:
    """The environment every process shares: dev defaults, under what the caller set."""
    env = {
        "PORTAL_ENV": "development",
        "LOG_FORMAT": "text",
        "AMQP_URL": DEFAULT_AMQP_URL,
        "NOTIFY_SMS_PROVIDER": "dev-outbox",
        "NOTIFY_EMAIL_PROVIDER": "dev-outbox",
        "NOTIFY_DEV_OUTBOX_ENDPOINT": "true",
        # Web processes yield the CPU to the workers (gunicorn.conf.py).
        "WEB_NICE": "10",
        "CARRIER_REGISTRY_URL": ports.url("carrier"),
        "CATALOG_URL": ports.url("catalog-web"),
        "IDENTITY_JWKS_URL": f"{ports.url('identity-web')}/api/identity/.well-known/jwks.json",
        "TOKEN_ISSUER": f"{ports.url('gateway')}/api/identity",
        "GATEWAY_NOTIFY_URL": ports.url("notify-web"),
        **{f"GATEWAY_{p.upper()}_URL": ports.url(f"{s}-web") for s, p in GATEWAY_PREFIX.items()},
        **{f"{s.upper()}_WORKER_HEALTH_PORT": str(ports.of(f"{s}-worker")) for s in SERVICES},
        **dict(base),
    }
    # The Procfile's commands bind these; they follow --first-port, whatever the caller set.
    env.update(
        {
            f"{name.upper().replace('-', '_')}_PORT": str(port)
            for name, port in ports.all().items()
            if not name.endswith("-worker")
        }
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return env


def broker_answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), 2):
            return True
    except OSError:
        return False


def ensure_broker(url: str) -> None:
    """Use the broker at `url`; start a local rabbitmq-server if none answers."""
    if broker_answers(url):
        return
    server = shutil.which("rabbitmq-server")
    if server is None:
        raise DevRunError(
            f"RabbitMQ does not answer at {url} (AMQP_URL) and rabbitmq-server is not "
            "installed: 'apt-get install rabbitmq-server', or run the whole portal in "
            "containers with 'docker compose -f deploy/compose.yaml up'."
        )
    print("RabbitMQ does not answer: starting the local rabbitmq-server ...", flush=True)
    subprocess.run([server, "-detached"], check=False)
    deadline = time.monotonic() + 90
    while not broker_answers(url):
        if time.monotonic() > deadline:
            raise DevRunError(f"rabbitmq-server was started but does not answer at {url}.")
        time.sleep(1)
    if diagnostics := shutil.which("rabbitmq-diagnostics"):
        # The port opens a moment before the broker takes work.
        subprocess.run([diagnostics, "-q", "await_startup"], check=False, timeout=60)


def manage(service: str, command: str, env: Mapping[str, str]) -> None:
    args = [sys.executable, "-m", f"services.{service}.manage", command]
    result = subprocess.run(args, cwd=ROOT, env=dict(env), check=False)
    if result.returncode != 0:
        raise DevRunError(f"'{service} {command}' failed with exit code {result.returncode}")


def worker_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200 and all(json.load(response).values())
    except (OSError, ValueError):
        return False


def wait_for_workers(ports: Ports, supervisor: subprocess.Popen[bytes]) -> None:
    """Every worker connected: its queues and bindings exist before any demo event."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = {s: ports.of(f"{s}-worker") for s in SERVICES}
    while waiting:
        if supervisor.poll() is not None:
            raise DevRunError("a process of the portal stopped during start-up; see above")
        if time.monotonic() > deadline:
            raise DevRunError(f"workers not ready after {READY_TIMEOUT} s: {', '.join(waiting)}")
        waiting = {s: p for s, p in waiting.items() if not worker_ready(p)}
        time.sleep(0.5)


def stop(supervisor: subprocess.Popen[bytes]) -> int:
    """SIGINT (what Ctrl-C sends) to the supervisor's whole group; SIGKILL what is left later.

    gunicorn stops at once on SIGINT and the workers stop as on SIGTERM (gracefully).
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(supervisor.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        supervisor.wait(timeout=STOP_TIMEOUT)
    # honcho may be gone while one of its children lingers: the group is what counts.
    deadline = time.monotonic() + STOP_TIMEOUT
    while group_alive(supervisor.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(supervisor.pid):
        os.killpg(supervisor.pid, signal.SIGKILL)
    return supervisor.wait()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def demo_accounts(limit: int = 3) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with (DEMO / "subscribers.csv").open(encoding="utf-8") as f:
        citizens = list(csv.DictReader(f))[:limit]
    with (DEMO / "agencies.csv").open(encoding="utf-8") as f:
        agencies = {row["code"]: row for row in csv.DictReader(f)}
    with (DEMO / "staff.csv").open(encoding="utf-8") as f:
        staff = list(csv.DictReader(f))
    # The admin first, then officers of communes: they receive the "khai sinh" dossiers.
    levels = ("", "commune", "district", "department", "province", "ministry")

    def rank(row: dict[str, str]) -> int:
        level = agencies.get(row["agency_code"], {}).get("level", "")
        return levels.index(level) if level in levels else len(levels)

    return citizens, sorted(staff, key=rank)[:limit]


def banner(ports: Ports) -> str:
    """What a newcomer needs on screen once the portal runs."""
    portal = ports.url("gateway")
    citizens, staff = demo_accounts()
    phone = citizens[0]["phone"].replace("+84", "0")
    lines = [
        "",
        f"The portal is running at {portal}/  (Ctrl-C stops everything)",
        "",
        "Demo citizens the carrier stand-in knows (register with one of them):",
        *(
            f"  {c['citizen_id']}  {c['full_name']}, born {c['date_of_birth']},"
            f" phone {c['phone'].replace('+84', '0')}"
            for c in citizens
        ),
        f"  ... all in {DEMO.relative_to(ROOT)}/subscribers.csv",
        "Demo staff (log in with username, password, then the OTP sent to their phone):",
        *(
            f"  {s['username']} / {s['password']}  ({s['role']} {s['agency_code']})".replace(
                " )", ")"
            )
            for s in staff
        ),
        f"  ... one officer per demo agency in {DEMO.relative_to(ROOT)}/staff.csv",
        "",
        "Reading OTPs (every SMS and e-mail is kept in the dev outbox, nothing is sent):",
        f"  in the portal:  {portal}/#/hop-thu-thu-nghiem",
        f"  the API:        {portal}/api/notify/dev/outbox?to={phone}",
        "",
        "Each service directly: "
        + ", ".join(f"{s} {ports.url(f'{s}-web')}" for s in SERVICES)
        + f"; carrier stand-in {ports.url('carrier')}",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.devrun", description=__doc__)
    parser.add_argument(
        "--first-port", type=int, default=8000, help="the gateway's port; the others follow it"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ports = Ports(args.first_port)
    env = environment(ports, os.environ)
    supervisor: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Set explicitly: a shell that starts us in the background ignores SIGINT, and the
    # processes we start would inherit that and outlive a Ctrl-C (a handler is not inherited).
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        check_ports_free(ports)
        ensure_broker(env["AMQP_URL"])
        (ROOT / "var").mkdir(exist_ok=True)
        for service in SERVICES:
            manage(service, "migrate", env)
        # Its own session: Ctrl-C reaches only us, and we stop the whole group in order.
        supervisor = subprocess.Popen(
            [str(Path(sys.executable).with_name("honcho")), "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        wait_for_workers(ports, supervisor)
        for service in SERVICES:
            manage(service, "load-demo", env)
        print(banner(ports), flush=True)
        supervisor.wait()
        return 1  # the supervisor only ends by itself when a process failed
    except DevRunError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping every process of the portal ...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            stop(supervisor)


if __name__ == "__main__":
    sys.exit(main())
