"""The gateway: the one public door of a deployment.

A first, plain version: it serves the web pages under gateway/web/ at / and
passes /api/<service>/... to that service. Edge auth, rate limits, federation
and the streaming, pooled proxy are the gateway issue's work.
"""

from __future__ import annotations

from pathlib import Path

import requests
from flask import Flask, Response, request, send_from_directory

from gateway.config import GatewaySettings
from services.core.problems import problem_response

WEB_DIR = Path(__file__).resolve().parent / "web"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "host",
}


def create_app(settings: GatewaySettings | None = None) -> Flask:
    settings = settings or GatewaySettings.from_env()
    app = Flask("gateway", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    session = requests.Session()

    @app.route("/api/<service>/", defaults={"rest": ""}, methods=_METHODS)
    @app.route("/api/<service>/<path:rest>", methods=_METHODS)
    @app.route("/api/<service>", defaults={"rest": None}, methods=_METHODS)
    def proxy(service: str, rest: str | None) -> Response:
        base = settings.upstreams.get(service)
        if base is None:
            return problem_response(404, "not_found")
        headers = {k: v for k, v in request.headers if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = request.remote_addr or ""
        headers["X-Forwarded-Host"] = request.host
        headers["X-Forwarded-Proto"] = request.scheme
        try:
            upstream = session.request(
                request.method,
                f"{base}{request.full_path if request.query_string else request.path}",
                headers=headers,
                data=request.get_data(),
                timeout=(settings.connect_timeout, settings.read_timeout),
                allow_redirects=False,
            )
        except requests.Timeout:
            return problem_response(504, "upstream_timeout")
        except requests.ConnectionError:
            return problem_response(502, "upstream_unavailable")
        out = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=out)

    @app.get("/")
    def index() -> Response:
        return send_from_directory(WEB_DIR, "index.html")

    @app.get("/<path:name>")
    def web(name: str) -> Response:
        return send_from_directory(WEB_DIR, name)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    return app


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
