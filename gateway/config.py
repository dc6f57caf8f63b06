"""Settings of the gateway, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.core.config import env_float, env_int

SERVICES = ("identity", "catalog", "dossiers", "notify")
DEFAULT_UPSTREAMS = {
    "identity": "http://127.0.0.1:8001",
    "catalog": "http://127.0.0.1:8002",
    "dossiers": "http://127.0.0.1:8003",
    "notify": "http://127.0.0.1:8004",
}


@dataclass(frozen=True)
class GatewaySettings:
    """Where each service answers, and the gateway's limits."""

    upstreams: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    max_body_bytes: int = 25 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        d = cls()
        upstreams = {
            name: (env.get(f"GATEWAY_{name.upper()}_URL") or url).rstrip("/")
            for name, url in DEFAULT_UPSTREAMS.items()
        }
        return cls(
            upstreams=upstreams,
            connect_timeout=env_float(env, "GATEWAY_CONNECT_TIMEOUT", d.connect_timeout),
            read_timeout=env_float(env, "GATEWAY_READ_TIMEOUT", d.read_timeout),
            max_body_bytes=env_int(env, "GATEWAY_MAX_BODY_BYTES", d.max_body_bytes, minimum=1),
        )
