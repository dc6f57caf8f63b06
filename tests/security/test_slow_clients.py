"""Slow and stalled clients as an attacker scripts them, against a whole portal.

Each stalled upload sends its headers and a few bytes of its body, then nothing. The
gateway receives a body whole before it opens a call to a service, so however many
there are, no service thread or greenlet waits on them: another citizen's call to the
same service still answers at once (issue 18, point 5).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from harness.journey import PortalClient
from harness.portal import PortalDeployment, procfile_command

# What the test portal's services can serve at once: dossier 8 threads (one worker),
# identity a gevent worker of --worker-connections greenlets (as the Procfile says).
DOSSIER_THREADS = 8


def identity_connections() -> int:
    command = procfile_command("identity-web")
    return int(command[command.index("--worker-connections") + 1])


@contextmanager
def stalled_uploads(
    base: str, path: str, count: int, headers: dict[str, str] | None = None
) -> Iterator[list[socket.socket]]:
    host, port = base.removeprefix("http://").split(":")
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(
                (
                    f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
                    "Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
                ).encode()
                + b'{"a'
            )
            sockets.append(sock)
        time.sleep(0.5)  # let every one of them reach as far as it will
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


# route -> (path, needs a bearer token, the service, another citizen's call there)
ROUTES = {
    "anonymous filing": ("/api/dossiers/anonymous", False, "dossiers", "/api/dossiers/stats"),
    "attachments": (
        f"/api/dossiers/{uuid.uuid4()}/attachments",
        True,
        "dossiers",
        "/api/dossiers/stats",
    ),
    "login": ("/api/identity/logins", False, "identity", "/api/identity/.well-known/jwks.json"),
    "registration": (
        "/api/identity/registrations",
        False,
        "identity",
        "/api/identity/.well-known/jwks.json",
    ),
}


@pytest.fixture(scope="module")
def officer_token(portal: PortalDeployment) -> str:
    client = PortalClient(portal.gateway_url)
    return client.officer_token(client.commune_with_officer())


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_stalled_uploads_do_not_hold_a_service(
    portal: PortalDeployment, officer_token: str, route: str
) -> None:
    path, login, service, probe = ROUTES[route]
    capacity = DOSSIER_THREADS if service == "dossiers" else identity_connections()
    count = max(24, capacity + capacity // 5)
    headers = {"Authorization": f"Bearer {officer_token}"} if login else None
    base = portal.gateway_url
    with stalled_uploads(base, path, count, headers):
        timings = []
        for _ in range(3):
            started = time.monotonic()
            answer = requests.get(f"{base}{probe}", timeout=10)
            timings.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
        assert min(timings) < 0.5, timings
        assert max(timings) < 1.0, timings
