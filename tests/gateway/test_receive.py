"""The edge receives each body whole, within a deadline, before any service sees it;
paths have one spelling; a service's own address never reaches a client; /metrics is
not public; every sensitive call has its own configurable limit."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable

import pytest
import requests
from flask import Flask

from gateway.app import create_app
from gateway.config import DEFAULT_RATE_LIMITS, GatewaySettings
from gateway.limits import LIMITED_ROUTES
from tests.gateway.conftest import EchoService
from tests.support.tokens import TokenFactory


def gateway(url: str, tokens: TokenFactory | None = None, **overrides: object) -> Flask:
    upstreams = {name: url for name in ("identity", "catalog", "dossiers", "notify")}
    settings = GatewaySettings(upstreams=upstreams, **overrides)  # type: ignore[arg-type]
    return create_app(settings, verifier=(tokens or TokenFactory()).verifier())


def stalled_upload(base: str, path: str, declared: int = 100_000) -> socket.socket:
    """Headers and a few body bytes of a POST, then nothing: a slow or hostile client."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {declared}\r\n\r\n"
        ).encode()
        + b'{"procedure'
    )
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer (headers and a Content-Length body)."""
    data = b""
    while True:
        head, found, body = data.partition(b"\r\n\r\n")
        if found:
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length is None or len(body) >= int(length.group(1)):
                return data
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("path", ["/api/dossiers/anonymous", "/api/catalog/procedures/x"])
def test_a_stalled_body_is_408_and_never_reaches_the_service(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str], path: str
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url, receive_timeout=0.5))
    sock = stalled_upload(base, path)
    started = time.monotonic()
    answer = read_answer(sock)
    sock.close()
    assert time.monotonic() - started < 3
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"application/problem+json" in head and b"X-Content-Type-Options: nosniff" in head
    assert b'"request_timeout"' in body
    assert service.calls == []


def test_a_body_is_received_whole_before_the_service_is_called(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url))
    payload = bytes(range(256)) * 8192  # 2 MiB: spooled to a file on the way
    for path in ("/api/catalog/x", "/api/dossiers/anonymous"):
        answer = requests.post(f"{base}{path}", data=payload, timeout=10)
        assert answer.status_code == 200
        seen = service.calls[-1]
        assert seen["length"] == len(payload)
        assert seen["sha256"] == hashlib.sha256(payload).hexdigest()
        assert seen["headers"]["Content-Length"] == str(len(payload))


def test_a_body_cut_short_is_a_problem_not_a_call(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url, receive_timeout=5))
    sock = stalled_upload(base, "/api/catalog/x")
    sock.shutdown(socket.SHUT_WR)  # the client is gone half-way
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400") and b"request_incomplete" in answer
    assert service.calls == []


def test_a_double_slash_is_one_slash_and_no_upstream_address_leaks(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url))
    answer = requests.get(f"{base}/api/catalog//procedures", timeout=5, allow_redirects=False)
    assert answer.status_code == 200
    assert service.calls[-1]["path"] == "/api/catalog/procedures"
    moved = requests.get(f"{base}/api/catalog/redirect", timeout=5, allow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["Location"] == "/api/catalog/x"
    assert url.removeprefix("http://") not in str(moved.headers)


def test_a_double_slash_does_not_dodge_a_limit(echo: tuple[EchoService, str]) -> None:
    service, url = echo
    limits = {**DEFAULT_RATE_LIMITS, "login": "1/minute"}
    web = gateway(url, rate_limits=limits).test_client()
    codes = [
        web.post(p, json={}).status_code for p in ("/api/identity/logins", "/api//identity//logins")
    ]
    assert codes == [200, 429]
    assert len(service.calls) == 1


def test_metrics_are_for_the_allowed_networks_or_the_token(echo: tuple[EchoService, str]) -> None:
    _service, url = echo
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    web = gateway(url).test_client()
    assert web.get("/metrics").status_code == 200  # loopback: the machine itself
    refused = web.get("/metrics", environ_base=outside)
    assert refused.status_code == 404
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    with_token = gateway(url, metrics_token="s3cret-token", metrics_allow=()).test_client()
    assert with_token.get("/metrics").status_code == 404
    good = {"Authorization": "Bearer s3cret-token"}
    assert with_token.get("/metrics", headers=good, environ_base=outside).status_code == 200
    bad = {"Authorization": "Bearer wrong"}
    assert with_token.get("/metrics", headers=bad, environ_base=outside).status_code == 404
    network = gateway(url, metrics_allow=("203.0.113.0/24",)).test_client()
    assert network.get("/metrics", environ_base=outside).status_code == 200


# One call of each limited route (a path its rules match).
LIMITED_CALLS = {
    "anonymous": ("POST", "/api/dossiers/anonymous"),
    "otp_phones": ("POST", "/api/identity/me/otp-phones"),
    "refresh": ("POST", "/api/identity/tokens/refresh"),
    "logout": ("POST", "/api/identity/logout"),
    "complete": ("POST", "/api/identity/password-resets/f1/complete"),
    "otp_state": ("GET", "/api/identity/logins/f1/otp"),
}


@pytest.mark.parametrize("name", sorted(LIMITED_CALLS))
def test_each_new_limit_counts_its_calls_and_is_configurable(
    echo: tuple[EchoService, str], name: str
) -> None:
    service, url = echo
    tokens = TokenFactory()
    env = {f"GATEWAY_RATE_LIMIT_{name.upper()}": "2/minute"}
    settings = GatewaySettings.from_env(env)
    assert settings.rate_limits[name] == "2/minute"
    web = gateway(url, tokens, rate_limits=settings.rate_limits).test_client()
    method, path = LIMITED_CALLS[name]
    headers = {"Authorization": f"Bearer {tokens.issue()}"}
    codes = [web.open(path, method=method, json={}, headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert len(service.calls) == 2


def test_every_named_limit_has_a_default_and_routes() -> None:
    assert set(LIMITED_ROUTES) == set(DEFAULT_RATE_LIMITS)
    for name in ("anonymous", "otp_phones", "refresh", "logout", "complete", "otp_state"):
        assert DEFAULT_RATE_LIMITS[name]
    env = {"GATEWAY_REQUEST_RECEIVE_TIMEOUT": "7.5", "GATEWAY_METRICS_ALLOW": "none"}
    settings = GatewaySettings.from_env(env)
    assert settings.receive_timeout == 7.5
    assert settings.metrics_allow == ()
