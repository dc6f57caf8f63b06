"""The hot path: plain proxied calls handled in bare WSGI, everything else by Flask.

Most traffic is `/api/<service>/...` passed on as it is. Building a Flask request,
matching routes and running the hooks of the rate limiter for each of those costs
more than the proxying itself, so this dispatcher sends such calls straight through
the same upstream pools and edge rules (request id, bearer check, security and CORS
headers, metrics). Anything else goes to the Flask app: the rate-limited calls, the
national lookup, CORS preflights, chunked or oversized bodies, unknown services,
pages, and every refusal (a bad token is re-checked there and answered as a problem).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from flask import Flask
from urllib3.exceptions import HTTPError

from gateway.edge import edge_header_list, needs_login, normal_path, request_id_from
from gateway.limits import LIMITED_ROUTES
from gateway.metrics import count, observe
from gateway.proxy import HOP_BY_HOP, forwarded_for, response_headers, small_length
from gateway.receive import receive_body
from gateway.upstreams import Gateway
from services.core.problems import Problem, Unauthorized, from_problem

StartResponse = Callable[..., Any]
_API = re.compile(r"^/api/([a-z]+)(/.*)?$")
_DROP = HOP_BY_HOP | {"host", "x-request-id", "content-length"}
_REASONS = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def _limited_patterns() -> list[tuple[str, re.Pattern[str]]]:
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for methods, rules in LIMITED_ROUTES.values():
        for rule in rules:
            text = re.sub(r"<any\(([^)]*)\):\w+>", lambda m: "[^/]+", rule)
            text = re.sub(r"<\w+>", "[^/]+", text)
            patterns.extend((method, re.compile(f"^{text}/?$")) for method in methods)
    patterns.append(("GET", re.compile(r"^/api/dossiers/lookup/?$")))
    return patterns


class FastPath:
    """WSGI entry of the gateway: the proxy hot path, else the Flask app."""

    def __init__(self, app: Flask, gateway: Gateway) -> None:
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.gateway = gateway
        self.limited = _limited_patterns()
        settings = gateway.settings
        self.max_body = settings.max_body_bytes
        self.receive_timeout = settings.receive_timeout
        self.origins = set(settings.cors_origins)
        self.edge_headers = edge_header_list(settings)

    def _is_limited(self, method: str, path: str) -> bool:
        return any(m == method and p.match(path) for m, p in self.limited)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if "//" in path:
            # One spelling of each path before any rule sees it: the limits cannot be
            # dodged with `//`, and no service answers a redirect naming its own address.
            path = environ["PATH_INFO"] = normal_path(path)
        found = _API.match(path)
        upstream = found and self.gateway.upstreams.get(found.group(1))
        if (
            not upstream
            or method == "OPTIONS"
            or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
            or int(environ.get("CONTENT_LENGTH") or 0) > self.max_body
            or self._is_limited(method, path)
        ):
            return self.flask_wsgi(environ, start_response)
        if needs_login(method, path) and not self._authorized(environ):
            return self.flask_wsgi(environ, start_response)
        return self._proxy(environ, start_response, found.group(1), upstream)  # type: ignore[union-attr]

    def _authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        try:
            self.gateway.verifier.verify(token.strip())
        except Unauthorized:
            return False
        return True

    def _request_headers(self, environ: dict[str, Any], request_id: str) -> dict[str, str]:
        connection = environ.get("HTTP_CONNECTION", "")
        drop = _DROP | {t.strip().lower() for t in connection.split(",")} if connection else _DROP
        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").title()
                if name.lower() not in drop:
                    headers[name] = value
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        prior = environ.get("HTTP_X_FORWARDED_FOR")
        headers["X-Forwarded-For"] = forwarded_for(prior, environ)
        headers["X-Forwarded-Host"] = environ.get("HTTP_HOST", "")
        headers["X-Forwarded-Proto"] = environ.get("wsgi.url_scheme", "http")
        headers["X-Request-Id"] = request_id
        return headers

    def _edge(
        self, headers: list[tuple[str, str]], environ: dict[str, Any], request_id: str
    ) -> list[tuple[str, str]]:
        present = {name.lower() for name, _ in headers}
        headers.extend((k, v) for k, v in self.edge_headers if k.lower() not in present)
        headers.append(("X-Request-ID", request_id))
        origin = environ.get("HTTP_ORIGIN")
        if origin and ("*" in self.origins or origin in self.origins):
            headers.extend(
                [
                    ("Access-Control-Allow-Origin", origin),
                    ("Vary", "Origin"),
                    ("Access-Control-Allow-Credentials", "true"),
                    ("Access-Control-Expose-Headers", "X-Request-ID, Retry-After"),
                ]
            )
        return headers

    def _problem(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        problem: Problem,
        request_id: str,
    ) -> Iterable[bytes]:
        with self.app.request_context(environ):
            response = from_problem(problem)
        body = response.get_data()
        headers = self._edge(list(response.headers.items()), environ, request_id)
        start_response(_REASONS.get(response.status_code, response.status), headers)
        return [body]

    def _proxy(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        label: str,
        upstream: Any,
    ) -> Iterable[bytes]:
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        method = environ["REQUEST_METHOD"]
        query = environ.get("QUERY_STRING")
        path = environ.get("PATH_INFO", "")
        target = f"{path}?{query}" if query else path
        sent = self._request_headers(environ, request_id)
        body: Any = None
        try:
            if environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING"):
                # The whole body first: a service never waits on a slow client.
                body, length = receive_body(environ, self.max_body, self.receive_timeout)
                if body is not None:
                    sent["Content-Length"] = str(length)
            started = time.perf_counter()
            answer = upstream.request(method, target, sent, body)
        except Problem as problem:
            count(label, problem.status)
            return self._problem(environ, start_response, problem, request_id)
        finally:
            if hasattr(body, "close"):
                body.close()
        observe(label, time.perf_counter() - started)
        count(label, answer.status)
        headers = self._edge(response_headers(answer, upstream.origin), environ, request_id)
        status = _REASONS.get(answer.status, f"{answer.status} Unknown")
        if method == "HEAD" or small_length(answer):
            try:
                data = answer.read(decode_content=False)
            finally:
                answer.release_conn()
            start_response(status, headers)
            return [data]
        start_response(status, headers)
        return _Streamed(answer)


class _Streamed:
    """A streamed body that gives its connection back to the pool when closed."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.answer.stream(64 * 1024, decode_content=False)
        except HTTPError:
            return  # headers are out: all a proxy can do is cut the body short

    def close(self) -> None:
        self.answer.release_conn()
