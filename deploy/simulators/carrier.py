"""A stand-in for the mobile carriers' subscriber registry, over HTTP.

    python -m deploy.simulators.carrier --port 8009 --csv deploy/demo/subscribers.csv

GET  /subscribers/{phone}  -> 200 {phone, citizen_id, full_name, date_of_birth} or 404
POST /subscribers          {phone, citizen_id, full_name, date_of_birth} -> 201

Phones are compared in E.164 (0912345678 and +84912345678 are the same subscriber).
Subscribers added by POST live in memory only.
"""

from __future__ import annotations

import argparse
import csv
import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from services.core.phones import InvalidPhone, normalize_mobile

FIELDS = ("phone", "citizen_id", "full_name", "date_of_birth")
DEMO_CSV = Path(__file__).resolve().parents[1] / "demo" / "subscribers.csv"


class SubscriberRegistry:
    """The subscribers by E.164 phone, safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_phone: dict[str, dict[str, str]] = {}

    def add(self, record: dict[str, Any]) -> dict[str, str]:
        """Validate and store a subscriber; ValueError when a field is wrong."""
        missing = [f for f in FIELDS if not str(record.get(f) or "").strip()]
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        clean = {f: str(record[f]).strip() for f in FIELDS}
        clean["phone"] = normalize_mobile(clean["phone"])
        date.fromisoformat(clean["date_of_birth"])
        with self._lock:
            self._by_phone[clean["phone"]] = clean
        return clean

    def get(self, phone: str) -> dict[str, str] | None:
        try:
            key = normalize_mobile(phone)
        except InvalidPhone:
            return None
        with self._lock:
            return self._by_phone.get(key)

    def load_csv(self, path: Path) -> int:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for row in rows:
            self.add(row)
        return len(rows)


def make_server(registry: SubscriberRegistry, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server answering the registry's two calls (port 0 picks a free port)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, {"status": "ok", "service": "carrier"})
                return
            prefix = "/subscribers/"
            if not self.path.startswith(prefix):
                self._send(404, {"error": "not_found"})
                return
            record = registry.get(unquote(self.path[len(prefix) :]))
            if record is None:
                self._send(404, {"error": "unknown_subscriber"})
            else:
                self._send(200, record)

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/subscribers":
                self._send(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                record = registry.add(json.loads(self.rfile.read(length) or b"{}"))
            except (ValueError, InvalidPhone, AttributeError) as exc:
                self._send(400, {"error": "invalid_subscriber", "detail": str(exc)})
                return
            self._send(201, record)

        def log_message(self, format: str, *args: object) -> None:
            pass  # phone numbers are personal data: no access log

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.simulators.carrier")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--csv", type=Path, default=DEMO_CSV)
    args = parser.parse_args(argv)
    registry = SubscriberRegistry()
    count = registry.load_csv(args.csv)
    server = make_server(registry, args.host, args.port)
    print(f"carrier simulator: {count} subscribers on http://{args.host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
