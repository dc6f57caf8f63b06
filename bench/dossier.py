"""Dossier benchmark: `python -m bench.dossier`.

Runs the real web app under gunicorn (2 workers x 4 threads) against PostgreSQL and
SQLite and measures, from client threads over HTTP:
  * full filings per second: create + fill + 2 attachments + submit (5 calls each);
  * submits per second on prepared drafts (the project's target: 300/s on PostgreSQL);
  * officer transitions per second (receive, then return-result);
with p50/p99 latency of each call. Bounded: every phase stops after --seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from harness.scratch import scratch_database
from services.core.bus import OutboxContext
from services.core.db import make_engine, make_session_factory
from services.core.service import ServiceDatabase
from services.dossier.app import MIGRATIONS
from services.dossier.catalog import apply_procedure

ISSUER = "https://bench.portal/api/identity"
AGENCY = "000.00.15.H56"
PDF = b"%PDF-1.7\n" + b"0" * 20_000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 30_000
PROCEDURE: dict[str, Any] = {
    "code": "1.001193",
    "name": "Đăng ký khai sinh",
    "agencies": [{"code": AGENCY, "name": "UBND phường Đông Vệ", "province": "38"}],
    "processing_days": 3,
    "documents": [
        {"code": "TK", "name": "Tờ khai", "required": True},
        {"code": "GCS", "name": "Giấy chứng sinh", "required": True},
    ],
    "form": {
        "type": "object",
        "required": ["child_name"],
        "properties": {"child_name": {"type": "string"}},
    },
    "result_delivery": ["online", "counter"],
    "version": 1,
    "province": "38",
}


class Tokens:
    """An RSA key, a JWKS server for gunicorn to fetch, and tokens signed with it."""

    def __init__(self) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self._jwt = jwt
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": "bench", "alg": "RS256", "use": "sig"})
        body = json.dumps({"keys": [jwk]}).encode()

        class Jwks(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def issue(self, roles: list[str], agency: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(uuid.uuid4()),
            "roles": roles,
            "iss": ISSUER,
            "aud": "portal",
            "iat": now,
            "exp": now + 3600,
        }
        if agency:
            claims["agency"] = agency
        return str(self._jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "bench"}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A migrated database with the procedure; yields its URL for the web process."""
    postgres = os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    with scratch_database(kind, workdir, postgres, "bench") as place:
        engine = make_engine(place.url_only)
        sessions = make_session_factory(engine, outbox=OutboxContext(source="dossier"))
        ServiceDatabase(engine, sessions).migrate(MIGRATIONS)
        with sessions() as session, session.begin():
            apply_procedure(session, PROCEDURE, withdrawn=False)
        engine.dispose()
        yield place.url_only


@contextmanager
def web(url: str, tokens: Tokens, workdir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "DOSSIER_DATABASE_URL": url,
        "DOSSIER_BLOB_DIR": str(workdir / "blobs"),
        "DOSSIER_LOOKUP_RATE_LIMIT": "",
        "IDENTITY_JWKS_URL": tokens.url,
        "TOKEN_ISSUER": ISSUER,
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "services.dossier.app:create_app()",
    ]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.errors = 0

    def call(self, name: str, fn: Callable[[], requests.Response], expect: int) -> Any:
        started = time.perf_counter()
        response = fn()
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies.setdefault(name, []).append(elapsed)
            if response.status_code != expect:
                self.errors += 1
        return response.json() if response.status_code == expect else None

    def percentile(self, name: str, p: float) -> float:
        values = sorted(self.latencies.get(name, [0.0]))
        return values[min(len(values) - 1, int(len(values) * p))] * 1000


def run_threads(threads: int, seconds: float, work: Callable[[requests.Session], bool]) -> int:
    """Run `work` in `threads` threads until it returns False or time is up; count calls."""
    done = [0] * threads
    deadline = time.monotonic() + seconds

    def loop(i: int) -> None:
        with requests.Session() as http:
            while time.monotonic() < deadline and work(http):
                done[i] += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done)


def bench_backend(kind: str, threads: int, seconds: float, tokens: Tokens) -> dict[str, Any]:
    citizen = {"Authorization": "Bearer " + tokens.issue(["citizen"])}
    officer = {"Authorization": "Bearer " + tokens.issue(["officer"], AGENCY)}
    fill = {
        "applicant": {"full_name": "Nguyễn Văn An", "phone": "0912345678"},
        "owner_same_as_applicant": True,
        "form": {"child_name": "Bình"},
        "delivery": {"method": "online"},
    }
    rec = Recorder()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(kind, Path(tmp)) as url,
        web(url, tokens, Path(tmp)) as base,
    ):
        lock = threading.Lock()
        drafts: list[str] = []
        submitted: list[str] = []

        def prepare(http: requests.Session, submit: bool) -> str | None:
            made = rec.call(
                "create",
                lambda: http.post(
                    f"{base}/api/dossiers",
                    json={"procedure_code": "1.001193", "agency_code": AGENCY},
                    headers=citizen,
                ),
                201,
            )
            if made is None:
                return None
            dossier_id = str(made["id"])
            rec.call(
                "fill",
                lambda: http.patch(f"{base}/api/dossiers/{dossier_id}", json=fill, headers=citizen),
                200,
            )
            for code, data in (("TK", PDF), ("GCS", PNG)):
                rec.call(
                    "attach",
                    lambda code=code, data=data: http.post(  # type: ignore[misc]
                        f"{base}/api/dossiers/{dossier_id}/attachments",
                        data={"document_code": code},
                        files={"file": ("f", data)},
                        headers=citizen,
                    ),
                    201,
                )
            if submit:
                rec.call(
                    "submit",
                    lambda: http.post(f"{base}/api/dossiers/{dossier_id}/submit", headers=citizen),
                    200,
                )
            return dossier_id

        def full_filing(http: requests.Session) -> bool:
            dossier_id = prepare(http, submit=True)
            if dossier_id:
                with lock:
                    submitted.append(dossier_id)
            return True

        def draft_only(http: requests.Session) -> bool:
            dossier_id = prepare(http, submit=False)
            if dossier_id:
                with lock:
                    drafts.append(dossier_id)
            return True

        def submit_prepared(http: requests.Session) -> bool:
            with lock:
                if not drafts:
                    return False
                dossier_id = drafts.pop()
            rec.call(
                "submit_prepared",
                lambda: http.post(f"{base}/api/dossiers/{dossier_id}/submit", headers=citizen),
                200,
            )
            with lock:
                submitted.append(dossier_id)
            return True

        def transitions(http: requests.Session) -> bool:
            with lock:
                if not submitted:
                    return False
                dossier_id = submitted.pop()
            rec.call(
                "receive",
                lambda: http.post(f"{base}/api/dossiers/{dossier_id}/receive", headers=officer),
                200,
            )
            rec.call(
                "return_result",
                lambda: http.post(
                    f"{base}/api/dossiers/{dossier_id}/return-result",
                    json={"note": "ok"},
                    headers=officer,
                ),
                200,
            )
            return True

        t0 = time.monotonic()
        filings = run_threads(threads, seconds, full_filing)
        filing_time = time.monotonic() - t0
        run_threads(threads, seconds, draft_only)
        prepared = len(drafts)
        t0 = time.monotonic()
        submits = run_threads(threads, seconds, submit_prepared)
        submit_time = time.monotonic() - t0
        t0 = time.monotonic()
        pairs = run_threads(threads, seconds, transitions)
        transition_time = time.monotonic() - t0
    return {
        "backend": kind,
        "filings/s": filings / filing_time,
        "submits/s (prepared)": submits / submit_time,
        "prepared drafts": prepared,
        "transitions/s": 2 * pairs / transition_time,
        "p50 submit ms": rec.percentile("submit_prepared", 0.50),
        "p99 submit ms": rec.percentile("submit_prepared", 0.99),
        "p99 create ms": rec.percentile("create", 0.99),
        "p99 attach ms": rec.percentile("attach", 0.99),
        "p99 receive ms": rec.percentile("receive", 0.99),
        "p99 return ms": rec.percentile("return_result", 0.99),
        "errors": rec.errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dossier", description=__doc__)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args(argv)
    tokens = Tokens()
    rows = [
        bench_backend(kind, args.threads, args.seconds, tokens) for kind in args.backends.split(",")
    ]
    keys = list(rows[0])
    print(f"{'metric':24}" + "".join(f"{row['backend']:>14}" for row in rows))
    for key in keys[1:]:
        values = "".join(
            f"{row[key]:>14.1f}" if isinstance(row[key], float) else f"{row[key]:>14}"
            for row in rows
        )
        print(f"{key:24}{values}")
    if len(rows) == 2:
        for key in ("filings/s", "submits/s (prepared)", "transitions/s"):
            ratio = rows[0][key] / rows[1][key] if rows[1][key] else float("nan")
            print(f"ratio {rows[0]['backend']}/{rows[1]['backend']} {key}: {ratio:.2f}")
    target = rows[0]["submits/s (prepared)"] / 300
    print(f"submit target (300/s on {rows[0]['backend']}): {target:.2f} of target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
