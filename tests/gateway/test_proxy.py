"""The proxy path: headers, request ids, streamed bodies, limits and upstream failures."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator

import requests
from flask import Flask

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.gateway.conftest import EchoService
from tests.support.tokens import TokenFactory


def settings_for(url: str, **overrides: object) -> GatewaySettings:
    upstreams = {name: url for name in ("identity", "catalog", "dossiers", "notify")}
    return GatewaySettings(upstreams=upstreams, **overrides)  # type: ignore[arg-type]


def gateway(url: str, **overrides: object) -> Flask:
    return create_app(settings_for(url, **overrides), verifier=TokenFactory().verifier())


def test_forwarded_headers_and_request_id(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url))
    answer = requests.get(
        f"{base}/api/catalog/procedures?q=khai%20sinh",
        headers={"Connection": "keep-alive, X-Private", "X-Private": "1", "X-Other": "kept"},
        timeout=5,
    )
    assert answer.status_code == 200
    seen = service.calls[-1]
    assert (seen["path"], seen["query"]) == ("/api/catalog/procedures", "q=khai%20sinh")
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["X-Forwarded-Proto"] == "http"
    assert seen["headers"]["X-Forwarded-Host"] == base.removeprefix("http://")
    assert seen["headers"]["X-Other"] == "kept"
    assert "X-Private" not in seen["headers"]  # named by Connection: hop-by-hop
    generated = answer.headers["X-Request-ID"]
    assert seen["headers"]["X-Request-Id"] == generated
    assert "Keep-Alive" not in answer.headers
    assert answer.headers["X-Upstream"] == "echo"

    passed = requests.get(f"{base}/api/catalog/x", headers={"X-Request-ID": "abc-123"}, timeout=5)
    assert passed.headers["X-Request-ID"] == "abc-123"
    assert service.calls[-1]["headers"]["X-Request-Id"] == "abc-123"
    # A malformed id is replaced, not passed on.
    replaced = requests.get(f"{base}/api/catalog/x", headers={"X-Request-ID": "a b"}, timeout=5)
    assert replaced.headers["X-Request-ID"] != "a b"


def test_chunked_request_body_reaches_the_service_whole(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url))
    payload = b"0123456789abcdef" * 20000

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 7000):
            yield payload[start : start + 7000]

    answer = requests.post(f"{base}/api/catalog/upload", data=chunks(), timeout=10)
    assert answer.status_code == 200
    seen = service.calls[-1]
    assert seen["length"] == len(payload)
    assert seen["sha256"] == hashlib.sha256(payload).hexdigest()
    assert seen["headers"]["Content-Length"] == str(len(payload))

    sized = requests.post(f"{base}/api/catalog/echo", data=payload, timeout=10)
    assert sized.json()["sha256"] == hashlib.sha256(payload).hexdigest()


def test_response_body_streams_back(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    _service, url = echo
    base = serve_gateway(gateway(url))
    size = 3 * 1024 * 1024 + 17
    with requests.get(
        f"{base}/api/catalog/stream", params={"size": size}, timeout=10, stream=True
    ) as answer:
        assert answer.status_code == 200
        assert sum(len(chunk) for chunk in answer.iter_content(65536)) == size


def test_a_service_answer_with_retry_after_reaches_the_client_as_it_is(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    """A 503 or 429 with Retry-After is the service's answer, not a failure to reach it."""
    service, url = echo
    base = serve_gateway(gateway(url))
    for status in (503, 429):
        answer = requests.get(f"{base}/api/catalog/busy", params={"status": status}, timeout=10)
        assert answer.status_code == status
        assert answer.json()["code"] == "busy"
        assert answer.headers["Retry-After"] == "2"
    assert len([c for c in service.calls if c["path"].endswith("/busy")]) == 2


def test_body_over_the_limit_is_413_before_the_service(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    service, url = echo
    base = serve_gateway(gateway(url, max_body_bytes=1000))
    declared = requests.post(f"{base}/api/catalog/x", data=b"y" * 1001, timeout=5)
    assert declared.status_code == 413
    assert declared.headers["Content-Type"].startswith("application/problem+json")
    assert declared.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"z" * 300

    streamed = requests.post(f"{base}/api/catalog/x", data=chunks(), timeout=5)
    assert streamed.status_code == 413
    assert service.calls == []
    fits = requests.post(f"{base}/api/catalog/x", data=b"y" * 1000, timeout=5)
    assert fits.status_code == 200


def test_slow_upstream_is_504_within_the_timeout(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    _service, url = echo
    base = serve_gateway(gateway(url, read_timeout=0.5))
    started = time.monotonic()
    answer = requests.get(f"{base}/api/catalog/slow", params={"seconds": 3}, timeout=5)
    assert answer.status_code == 504
    assert answer.json()["code"] == "upstream_timeout"
    assert time.monotonic() - started < 1.5


def test_security_headers_and_cors(
    echo: tuple[EchoService, str], serve_gateway: Callable[[Flask], str]
) -> None:
    _service, url = echo
    base = serve_gateway(gateway(url, cors_origins=("https://app.example",)))
    answer = requests.get(
        f"{base}/api/catalog/x", headers={"Origin": "https://app.example"}, timeout=5
    )
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = requests.get(f"{base}/api/catalog/x", headers={"Origin": "https://evil"}, timeout=5)
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = requests.options(
        f"{base}/api/dossiers",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization",
        },
        timeout=5,
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
