"""A small SMS-gateway simulator: `python -m deploy.simulators.sms_gateway --port 9090`.

POST / with JSON {to, text, sender, reference} and `Authorization: Bearer <key>`.
How it answers is switchable at run time, so tests can prove each delivery state:
POST /_control with {"mode": "ok" | "reject" | "fail" | "hang", "times": n} answers
200, 400, 503 or never (until the client times out) for the next n messages (all of
them when `times` is absent), then returns to "ok". GET /_messages lists accepted ones.
"""

from __future__ import annotations

import argparse
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "reject", "fail", "hang")


class GatewayState:
    """What the simulator received and how it answers next."""

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.mode = "ok"
        self.times: int | None = None
        self.accepted: list[dict[str, Any]] = []
        self.requests = 0
        self.release = threading.Event()

    def next_mode(self) -> str:
        with self.lock:
            self.requests += 1
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "ok", None
            return mode

    def set_mode(self, mode: str, times: int | None) -> None:
        with self.lock:
            self.mode, self.times = mode, times


def make_handler(state: GatewayState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                return json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return None

        def do_GET(self) -> None:
            if self.path == "/_messages":
                with state.lock:
                    self._json(200, {"messages": list(state.accepted)})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/_control":
                mode = (body or {}).get("mode")
                if mode not in MODES:
                    self._json(400, {"error": f"mode must be one of {MODES}"})
                    return
                state.set_mode(mode, (body or {}).get("times"))
                self._json(200, {"mode": mode})
                return
            if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
                self._json(401, {"error": "bad api key"})
                return
            if not isinstance(body, dict) or not body.get("to") or not body.get("text"):
                self._json(400, {"error": "to and text are required"})
                return
            mode = state.next_mode()
            if mode == "hang":
                state.release.wait(30)  # the client's timeout ends the exchange first
                return
            if mode == "reject":
                self._json(400, {"error": "rejected"})
            elif mode == "fail":
                self._json(503, {"error": "unavailable"})
            else:
                message_id = uuid.uuid4().hex
                with state.lock:
                    state.accepted.append({"id": message_id, **body})
                self._json(200, {"id": message_id, "status": "accepted"})

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


class SmsGatewaySimulator:
    """The simulator in a background thread (tests) or in the foreground (main)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "") -> None:
        self.state = GatewayState(api_key)
        self.server = ThreadingHTTPServer((host, port), make_handler(self.state))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> SmsGatewaySimulator:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.state.release.set()
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--api-key", default="")
    args = parser.parse_args()
    simulator = SmsGatewaySimulator(args.host, args.port, args.api_key)
    print(f"SMS gateway simulator on {simulator.url}", flush=True)
    simulator.server.serve_forever()


if __name__ == "__main__":
    main()
