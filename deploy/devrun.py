"""`make run`: the whole portal on one machine, from source.

Checks (or starts) RabbitMQ, migrates every service's SQLite database under var/,
starts every process of the Procfile under honcho, waits until each worker has
declared its queues, loads the demo data (so no event is published before its
consumers listen), prints the URLs and runs until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "catalog", "dossier", "notify")
DEV_ENV = {
    "PORTAL_ENV": "development",
    "LOG_FORMAT": "text",
    "NOTIFY_SMS_PROVIDER": "dev-outbox",
    "NOTIFY_EMAIL_PROVIDER": "dev-outbox",
    "CARRIER_REGISTRY_URL": "http://127.0.0.1:8009",
    "CATALOG_URL": "http://127.0.0.1:8002",
    "IDENTITY_JWKS_URL": "http://127.0.0.1:8001/api/identity/.well-known/jwks.json",
    "TOKEN_ISSUER": "http://127.0.0.1:8000/api/identity",
    "IDENTITY_WORKER_HEALTH_PORT": "8101",
    "CATALOG_WORKER_HEALTH_PORT": "8102",
    "DOSSIER_WORKER_HEALTH_PORT": "8103",
    "NOTIFY_WORKER_HEALTH_PORT": "8104",
}
READY_TIMEOUT = 120


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
        sys.exit(
            f"RabbitMQ is not reachable at {url} and rabbitmq-server is not installed: "
            "run 'apt-get install rabbitmq-server' or start one with "
            "'docker compose -f deploy/compose.yaml up rabbitmq'."
        )
    print("starting the local rabbitmq-server ...", flush=True)
    subprocess.run([server, "-detached"], check=False)
    for _ in range(60):
        if broker_answers(url):
            time.sleep(2)  # the port opens a moment before the broker takes work
            return
        time.sleep(1)
    sys.exit(f"rabbitmq-server was started but does not answer at {url} after 60 s.")


def run(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"'{' '.join(args)}' failed with exit code {result.returncode}")


def worker_ready(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200 and all(json.load(response).values())
    except (OSError, ValueError):
        return False


def wait_for_workers(env: dict[str, str], honcho: subprocess.Popen[bytes]) -> None:
    """Every worker connected: its queues and bindings exist before any demo event."""
    ports = {s: env[f"{s.upper()}_WORKER_HEALTH_PORT"] for s in SERVICES}
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = dict(ports)
    while waiting:
        if honcho.poll() is not None:
            sys.exit("a process of the portal stopped during start-up; see its lines above")
        if time.monotonic() > deadline:
            sys.exit(f"workers not ready after {READY_TIMEOUT} s: {', '.join(sorted(waiting))}")
        waiting = {s: p for s, p in waiting.items() if not worker_ready(p)}
        time.sleep(0.5)


def main() -> None:
    env = {**DEV_ENV, **os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    amqp_url = env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    ensure_broker(amqp_url)
    (ROOT / "var").mkdir(exist_ok=True)
    for service in SERVICES:
        run(["-m", f"services.{service}.manage", "migrate"], env)
    honcho = subprocess.Popen(
        [str(Path(sys.executable).with_name("honcho")), "start", "-f", "Procfile"],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_workers(env, honcho)
        for service in SERVICES:
            run(["-m", f"services.{service}.manage", "load-demo"], env)
        print(BANNER, flush=True)
        honcho.wait()
    except KeyboardInterrupt:
        honcho.wait()


BANNER = """
The portal is running (Ctrl-C stops everything):
  identity   http://127.0.0.1:8001/api/identity/openapi.json
  catalogue  http://127.0.0.1:8002/api/catalog/procedures?q=khai%20sinh
  dossiers   http://127.0.0.1:8003/api/dossiers/openapi.json
  notify     http://127.0.0.1:8004/api/notify/openapi.json
  carrier    http://127.0.0.1:8009/subscribers/+84912345678  (the carrier stand-in)

Demo citizens (register with them): deploy/demo/subscribers.csv
Demo staff (admin quantri, one officer per agency): deploy/demo/staff.csv
OTPs, e-mails and SMS "sent" (the dev outbox):
  http://127.0.0.1:8004/api/notify/dev/outbox?to=0912345678
Start a registration:
  curl -s -X POST http://127.0.0.1:8001/api/identity/registrations \\
    -H 'Content-Type: application/json' \\
    -d '{"citizen_id":"038085001234","full_name":"Nguyễn Văn An","date_of_birth":"1985-03-12",
         "gender":"male","phone":"0912345678"}'
"""


if __name__ == "__main__":
    main()
