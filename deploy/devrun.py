"""`make run`: the whole portal on one machine, from source.

Checks (or starts) RabbitMQ, migrates every service's SQLite database under var/,
declares the broker topology, loads the demo data, prints the URLs and runs every
process of the Procfile under honcho until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("identity", "catalog", "dossier", "notify")
DEV_ENV = {
    "PORTAL_ENV": "development",
    "LOG_FORMAT": "text",
    "NOTIFY_SMS_PROVIDER": "dev-outbox",
    "NOTIFY_EMAIL_PROVIDER": "dev-outbox",
    "NOTIFY_DEV_OUTBOX": "on",
    "CARRIER_REGISTRY_URL": "http://127.0.0.1:8009",
    "CATALOG_URL": "http://127.0.0.1:8002",
    "IDENTITY_JWKS_URL": "http://127.0.0.1:8001/api/identity/.well-known/jwks.json",
    "TOKEN_ISSUER": "http://127.0.0.1:8000/api/identity",
}


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


def main() -> None:
    env = {**DEV_ENV, **os.environ}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    amqp_url = env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    ensure_broker(amqp_url)
    (ROOT / "var").mkdir(exist_ok=True)
    for service in SERVICES:
        run(["-m", f"services.{service}.manage", "migrate"], env)
    for service in SERVICES:
        run(["-m", f"services.{service}.manage", "declare-topology"], env)
    for service in SERVICES:
        run(["-m", f"services.{service}.manage", "load-demo"], env)
    print(
        "\nThe portal is starting:\n"
        "  identity  http://127.0.0.1:8001/api/identity/openapi.json\n"
        "  catalogue http://127.0.0.1:8002/api/catalog/procedures?q=khai%20sinh\n"
        "  dossiers  http://127.0.0.1:8003/api/dossiers/openapi.json\n"
        "  notify    http://127.0.0.1:8004/api/notify/openapi.json\n"
        "  OTPs and e-mails sent:\n"
        "            http://127.0.0.1:8004/api/notify/dev/outbox?to=<phone or e-mail>\n"
        "  demo citizens: deploy/demo/subscribers.csv; demo staff: deploy/demo/staff.csv\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
    honcho = Path(sys.executable).with_name("honcho")
    os.chdir(ROOT)
    os.execve(str(honcho), [str(honcho), "start", "-f", "Procfile"], env)


if __name__ == "__main__":
    main()
