"""Identity throughput through the HTTP API with production argon2 parameters.

    python -m bench.identity [--registrations 120] [--logins 360] [--clients 8]

Runs the carrier simulator in this process and the identity app under gunicorn
(a subprocess, the production server) on a fresh SQLite file (or --database-url),
then measures full registrations (start, OTP verify, complete) and full logins
(password, OTP verify) per second. OTP codes are read from the outbox table, as
notify would receive them. Bounded in time: every phase stops after --max-seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import urllib3
from sqlalchemy import bindparam, select

from deploy.simulators.carrier import SubscriberRegistry, make_server
from harness.portal import worker_options
from services.core.bus import OutboxMessage
from services.core.config import ServiceSettings
from services.core.db import make_engine
from services.identity.config import IdentityConfig
from services.identity.context import build_context

API = "/api/identity"
PASSWORD = "Bench#Pass2026"
TARGET_LOGINS_PER_SECOND = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def citizen(i: int) -> dict[str, str]:
    """A synthetic Thanh Hóa citizen born in 1990 with a unique CCCD and phone."""
    return {
        "citizen_id": f"038090{i:06d}",
        "full_name": "Nguyễn Văn Thử",
        "date_of_birth": "1990-01-01",
        "gender": "male",
        "phone": f"+8497{i:07d}",
    }


class Codes:
    """Reads the OTP of a flow from the outbox (the notify.send command's personalisation)."""

    QUERY = (
        select(OutboxMessage.body)
        .where(OutboxMessage.subject == bindparam("flow_id"), OutboxMessage.type == "notify.send")
        .order_by(OutboxMessage.seq.desc())
    )

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def code(self, flow_id: str) -> str:
        for _ in range(200):
            with self.engine.connect() as connection:
                bodies = connection.scalars(self.QUERY, {"flow_id": flow_id}).all()
            for body in bodies:
                personalisation = json.loads(body)["data"]["personalisation"]
                if "code" in personalisation:
                    return str(personalisation["code"])
            time.sleep(0.005)
        raise RuntimeError(f"no OTP found for {flow_id}")


def run_phase(
    name: str, count: int, clients: int, max_seconds: float, task: Callable[[int], None]
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def one(i: int) -> None:
        nonlocal errors
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        try:
            task(i)
        except Exception as exc:
            with lock:
                errors += 1
                if errors <= 3:
                    print(f"  {name} error: {exc}", file=sys.stderr)
            return
        with lock:
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "done": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1 if len(ordered) > 1 else 0] * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.identity")
    parser.add_argument("--registrations", type=int, default=120)
    parser.add_argument("--logins", type=int, default=360)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=0, help="diagnosis: gthread workers with this many threads"
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument(
        "--cheap-argon2", action="store_true", help="diagnosis: argon2 at 64 KiB, 1 pass"
    )
    args = parser.parse_args(argv)

    registry = SubscriberRegistry()
    for i in range(args.registrations):
        registry.add(citizen(i))
    carrier = make_server(registry, "127.0.0.1", 0)
    threading.Thread(target=carrier.serve_forever, daemon=True).start()

    workdir = Path(tempfile.mkdtemp(prefix="bench-identity-"))
    url = args.database_url or f"sqlite:///{workdir / 'identity.db'}"
    port = free_port()
    env = {
        **os.environ,
        "IDENTITY_DATABASE_URL": url,
        "CARRIER_REGISTRY_URL": f"http://127.0.0.1:{carrier.server_port}",
        "LOG_LEVEL": "WARNING",
        "BUS_NAMESPACE": f"bench{port}.",
    }
    for name in ("IDENTITY_ARGON2_TIME_COST", "IDENTITY_ARGON2_MEMORY_KIB"):
        env.pop(name, None)  # production parameters (OWASP minimum) for this run
    if args.cheap_argon2:
        env.update({"IDENTITY_ARGON2_TIME_COST": "1", "IDENTITY_ARGON2_MEMORY_KIB": "64"})
    # The workers as the Procfile runs them, unless --threads asks for thread workers.
    worker = ["--threads", str(args.threads)] if args.threads else worker_options("identity-web")
    python = sys.executable
    subprocess.run(
        [python, "-m", "services.identity.manage", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    gunicorn = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            *worker,
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "services.identity.app:create_app()",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}{API}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{base}/.well-known/jwks.json", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        codes = Codes(url)
        # The load comes from this machine too: urllib3's pool is lighter than requests,
        # which leaves more of the CPU to the server being measured.
        http = urllib3.PoolManager(maxsize=args.clients, retries=False)

        def post(path: str, body: dict[str, str], status: int) -> dict[str, object]:
            response = http.request("POST", f"{base}{path}", json=body)
            if response.status != status:
                raise RuntimeError(f"{response.status} {response.data[:200]!r}")
            return response.json()  # type: ignore[no-any-return]

        def register(i: int) -> None:
            rid = str(post("/registrations", citizen(i), 201)["id"])
            post(f"/registrations/{rid}/otp/verify", {"code": codes.code(rid)}, 200)
            post(
                f"/registrations/{rid}/complete",
                {"password": PASSWORD, "password_confirmation": PASSWORD},
                201,
            )

        registered = max(1, args.registrations)

        def login(i: int) -> None:
            username = citizen(i % registered)["citizen_id"]
            fid = str(post("/logins", {"username": username, "password": PASSWORD}, 201)["id"])
            tokens = post(f"/logins/{fid}/otp/verify", {"code": codes.code(fid)}, 200)
            assert tokens["access_token"]

        registrations = run_phase(
            "registration", args.registrations, args.clients, args.max_seconds, register
        )
        logins = run_phase("login", args.logins, args.clients, args.max_seconds, login)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        carrier.shutdown()

    # The service's own hashing, as its context assembles it (no database is touched).
    settings = ServiceSettings(service="identity", database_url="sqlite://")
    hashing = build_context(settings, IdentityConfig.from_env(env)).hashing
    digest = hashing.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(20):
        hashing.verify(digest, PASSWORD)
    verify_ms = (time.perf_counter() - started) / 20 * 1000

    params = IdentityConfig.from_env(env).argon2
    print(
        f"identity bench: argon2id m={params.memory_cost_kib} KiB t={params.time_cost} "
        f"p={params.parallelism}; gunicorn -w {args.workers} {' '.join(worker)}; "
        f"{args.clients} clients; {os.cpu_count()} CPUs; {url.split(':')[0]}"
    )
    print(
        f"{'phase':<14}{'done':>6}{'errors':>8}{'seconds':>9}{'per s':>9}{'p50 ms':>9}{'p95 ms':>9}"
    )
    for name, row in (("registrations", registrations), ("logins", logins)):
        print(
            f"{name:<14}{row['done']:>6.0f}{row['errors']:>8.0f}{row['seconds']:>9.2f}"
            f"{row['per_second']:>9.1f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
        )
    single = 1000 / verify_ms
    print(f"one argon2 verify, one thread: {verify_ms:.1f} ms ({single:.1f}/s)")
    ratio = logins["per_second"] / TARGET_LOGINS_PER_SECOND
    print(f"logins/s vs target {TARGET_LOGINS_PER_SECOND:.0f}: {ratio:.2f}x")
    print(f"logins/s vs one-thread argon2 verifies/s: {logins['per_second'] / single:.2f}x")
    per_registration = max(registrations["per_second"], 1e-9)
    print(f"logins/s vs registrations/s: {logins['per_second'] / per_registration:.2f}x")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
