"""The worker's health endpoint is reachable where a container's probes knock."""

from __future__ import annotations

import json
import urllib.request

from services.core.bus import serve_health
from services.core.config import ServiceSettings


def test_worker_health_host_defaults_to_loopback_and_is_configurable() -> None:
    assert ServiceSettings.from_env("notify", {}).worker_health_host == "127.0.0.1"
    settings = ServiceSettings.from_env("notify", {"WORKER_HEALTH_HOST": "0.0.0.0"})
    assert settings.worker_health_host == "0.0.0.0"


def test_health_server_listens_on_every_interface_when_asked(free_port: int) -> None:
    server = serve_health(free_port, lambda: {"database": True, "relay": False}, "0.0.0.0")
    try:
        bound_host = server.server_address[0]
        assert bound_host == "0.0.0.0"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{free_port}/readyz", timeout=2)
        except urllib.error.HTTPError as answer:
            assert answer.code == 503
            assert json.load(answer) == {"database": True, "relay": False}
        else:
            raise AssertionError("a worker whose relay is down must not be ready")
    finally:
        server.shutdown()
        server.server_close()


def test_the_container_health_check_command_follows_readiness(free_port: int) -> None:
    from deploy.healthcheck import main as healthcheck

    server = serve_health(free_port, lambda: {"database": True}, "127.0.0.1")
    try:
        assert healthcheck([f"http://127.0.0.1:{free_port}/readyz"]) == 0
        assert healthcheck([f"http://127.0.0.1:{free_port}/nowhere"]) == 1
    finally:
        server.shutdown()
        server.server_close()
    assert healthcheck([f"http://127.0.0.1:{free_port}/readyz"]) == 1
