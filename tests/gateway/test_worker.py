"""The gateway as the Procfile runs it (gunicorn, gateway.worker.EdgeWorker) in front of
a real upstream: what gunicorn refuses is problem+json with the edge's headers, and a
client that stalls in its headers or its body costs a socket until the deadline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.portal import ROOT, free_port, worker_options
from tests.gateway.conftest import EchoService
from tests.gateway.test_receive import read_answer, stalled_upload

TIMEOUT = 1.0


@pytest.fixture
def edge(echo: tuple[EchoService, str], tmp_path: Path) -> Iterator[tuple[EchoService, str]]:
    service, url = echo
    port = free_port()
    env = {
        **os.environ,
        **{f"GATEWAY_{n.upper()}_URL": url for n in ("identity", "catalog", "dossiers", "notify")},
        "GATEWAY_REQUEST_RECEIVE_TIMEOUT": str(TIMEOUT),
        "GUNICORN_CMD_ARGS": "",
    }
    options = worker_options("gateway")
    assert "gateway.worker.EdgeWorker" in options
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen(
        [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", *options,
         "gateway.app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail((tmp_path / "gateway.log").read_text())
            time.sleep(0.2)
    try:
        yield service, base
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        return read_answer(sock)


def test_an_over_long_request_line_is_a_problem_with_the_edge_headers(
    edge: tuple[EchoService, str],
) -> None:
    service, base = edge
    answer = raw(base, f"GET /api/catalog/{'x' * 9000} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414"), head
    assert b"Content-Type: application/problem+json" in head
    assert b"X-Content-Type-Options: nosniff" in head and b"Content-Security-Policy" in head
    assert b"X-Request-ID" in head
    assert b'"code": "uri_too_long"' in body and b"<html" not in body.lower()
    answer = raw(
        base, b"GET /api/catalog/x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 431") and b"headers_too_large" in answer
    assert service.calls == []


def test_a_client_stalled_in_its_headers_is_cut_at_the_deadline(
    edge: tuple[EchoService, str],
) -> None:
    _service, base = edge
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/dossiers/anonymous HTTP/1.1\r\nHost: a\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the gateway
        assert time.monotonic() - started < TIMEOUT + 2


def test_a_client_stalled_in_its_body_is_408_at_the_deadline(
    edge: tuple[EchoService, str],
) -> None:
    service, base = edge
    sock = stalled_upload(base, "/api/dossiers/anonymous")
    started = time.monotonic()
    answer = read_answer(sock)
    sock.close()
    assert time.monotonic() - started < TIMEOUT + 2
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer
    assert b"X-Frame-Options: DENY" in answer
    assert service.calls == []
