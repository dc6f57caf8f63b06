"""A real upstream over HTTP (an echo service) and the gateway served on a real socket."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class EchoService:
    """Answers every call with what it received; a few paths behave specially."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    openapi: dict[str, Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data()
        call = {
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode(),
            "headers": dict(request.headers),
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        self.calls.append(call)
        if request.path.endswith("/slow"):
            time.sleep(float(request.args.get("seconds", "2")))
        if request.path.endswith("/stream"):
            size = int(request.args.get("size", "1000000"))

            def chunks() -> Iterator[bytes]:
                sent = 0
                while sent < size:
                    part = min(65536, size - sent)
                    yield b"x" * part
                    sent += part

            response = Response(chunks(), mimetype="application/octet-stream")
            return response(environ, start_response)
        if request.path.endswith("/busy"):
            status = int(request.args.get("status", "503"))
            busy = Response(
                json.dumps({"status": status, "code": "busy"}),
                status=status,
                mimetype="application/problem+json",
                headers={"Retry-After": "2"},
            )
            return busy(environ, start_response)
        if request.path.endswith("/redirect"):
            # What Flask answers for `//` in a path: a redirect naming its own address.
            moved = Response(status=308, headers={"Location": f"{request.host_url}api/catalog/x"})
            return moved(environ, start_response)
        if request.path.endswith("/openapi.json") and self.openapi is not None:
            return Response(json.dumps(self.openapi), mimetype="application/json")(
                environ, start_response
            )
        response = Response(json.dumps(call), mimetype="application/json")
        response.headers["Keep-Alive"] = "timeout=5"
        response.headers["X-Upstream"] = "echo"
        return response(environ, start_response)


@dataclass
class Served:
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


def serve(app: Any) -> Served:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return Served(server, thread)


@pytest.fixture
def echo() -> Iterator[tuple[EchoService, str]]:
    service = EchoService()
    served = serve(service)
    try:
        yield service, served.url
    finally:
        served.server.shutdown()


@pytest.fixture
def serve_gateway() -> Iterator[Callable[[Flask], str]]:
    """Serve a gateway app on a real socket (chunked bodies, streaming); its base URL."""
    started: list[Served] = []

    def start(app: Flask) -> str:
        served = serve(app)
        started.append(served)
        return served.url

    yield start
    for served in started:
        served.server.shutdown()
