"""Settings of the gateway, read once from the environment."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.core.config import (
    PROJECT_ROOT,
    ConfigError,
    env_choice,
    env_float,
    env_int,
    parse_trusted_issuers,
)

SERVICES = ("identity", "catalog", "dossiers", "notify")
DEFAULT_UPSTREAMS = {
    "identity": "http://127.0.0.1:8001",
    "catalog": "http://127.0.0.1:8002",
    "dossiers": "http://127.0.0.1:8003",
    "notify": "http://127.0.0.1:8004",
}
# An example registry of provincial portals (the local ports of provincial test
# deployments). A gateway reads a registry only when GATEWAY_PROVINCES_FILE names one:
# without it the portal is standalone and serves every province's procedures itself.
EXAMPLE_PROVINCES_FILE = PROJECT_ROOT / "deploy" / "federation" / "provinces.yaml"
# The sensitive public calls and their default limits (flask-limiter notation).
# Each is GATEWAY_RATE_LIMIT_<NAME> (gateway/limits.py lists the calls each counts).
DEFAULT_RATE_LIMITS = {
    "registration": "10/minute;50/hour",
    "login": "10/minute;100/hour",
    "otp": "20/minute",
    "password_reset": "5/minute;20/hour",
    "lookup": "60/minute",
    "anonymous": "10/minute;60/hour",
    "otp_phones": "5/minute;20/hour",
    "refresh": "30/minute;600/hour",
    "logout": "30/minute",
    "complete": "10/minute;50/hour",
    # The pages poll a flow's OTP state while the code is on its way: generous.
    "otp_state": "120/minute",
}
# Who may read /metrics on the portal's port without a token: loopback only by default.
DEFAULT_METRICS_ALLOW = ("127.0.0.0/8", "::1/128")
# The web pages and the API docs page, served at / and /api/docs (GATEWAY_WEB_DIR).
DEFAULT_WEB_DIR = PROJECT_ROOT / "web"

# Pages and scripts from this origin only; no inline script, no framing.
DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class GatewaySettings:
    """Where each service answers, the gateway's limits and its federation role."""

    upstreams: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    max_body_bytes: int = 25 * 1024 * 1024
    # Keep-alive connections kept per upstream (per gateway process).
    pool_size: int = 32
    # Proxies in front of the gateway whose X-Forwarded-For names the client.
    trusted_proxies: int = 0
    role: str = "national"
    province: str = ""
    provinces_file: Path | None = None
    # Edge verification of bearer tokens; empty jwks_url: the identity upstream's JWKS.
    jwks_url: str = ""
    token_issuer: str = "http://127.0.0.1:8000/api/identity"
    token_audience: str = "portal"
    # Extra issuers trusted at the edge, issuer -> JWKS URL (a province trusts the nation).
    trusted_issuers: dict[str, str] = field(default_factory=dict)
    rate_limits: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    ratelimit_storage_uri: str = "memory://"
    cors_origins: tuple[str, ...] = ()
    readiness_timeout: float = 2.0
    content_security_policy: str = DEFAULT_CSP
    # The name the web pages show; empty: from the role (and the province's name).
    portal_name: str = ""
    # Seconds a client has to send its request headers, and again its whole body.
    receive_timeout: float = 15.0
    # /metrics: callers from these networks, or with this bearer token (when set).
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    metrics_token: str = ""
    web_dir: Path = DEFAULT_WEB_DIR

    @property
    def identity_jwks_url(self) -> str:
        identity = self.upstreams.get("identity", DEFAULT_UPSTREAMS["identity"])
        return self.jwks_url or f"{identity}/api/identity/.well-known/jwks.json"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        d = cls()
        upstreams = {
            name: (env.get(f"GATEWAY_{name.upper()}_URL") or url).rstrip("/")
            for name, url in DEFAULT_UPSTREAMS.items()
        }
        role = env_choice(env, "GATEWAY_ROLE", "", ("", "national", "province"))
        role = role or env_choice(env, "PORTAL_ROLE", d.role, ("national", "province"))
        province = (env.get("GATEWAY_PROVINCE") or env.get("PORTAL_PROVINCE") or "").strip()
        if role == "province" and not (len(province) == 2 and province.isdigit()):
            raise ConfigError("GATEWAY_PROVINCE must be a two-digit province code for a province")
        limits = dict(d.rate_limits)
        for name in limits:
            limits[name] = env.get(f"GATEWAY_RATE_LIMIT_{name.upper()}") or limits[name]
        return cls(
            upstreams=upstreams,
            connect_timeout=env_float(env, "GATEWAY_CONNECT_TIMEOUT", d.connect_timeout),
            read_timeout=env_float(env, "GATEWAY_READ_TIMEOUT", d.read_timeout),
            max_body_bytes=env_int(env, "GATEWAY_MAX_BODY_BYTES", d.max_body_bytes, minimum=1),
            pool_size=env_int(env, "GATEWAY_POOL_SIZE", d.pool_size, minimum=1),
            trusted_proxies=env_int(env, "GATEWAY_TRUSTED_PROXIES", d.trusted_proxies),
            role=role,
            province=province,
            provinces_file=Path(env["GATEWAY_PROVINCES_FILE"])
            if env.get("GATEWAY_PROVINCES_FILE")
            else d.provinces_file,
            jwks_url=env.get("GATEWAY_JWKS_URL") or env.get("IDENTITY_JWKS_URL") or "",
            token_issuer=env.get("TOKEN_ISSUER") or d.token_issuer,
            token_audience=env.get("TOKEN_AUDIENCE") or d.token_audience,
            trusted_issuers=parse_trusted_issuers(env.get("TOKEN_TRUSTED_ISSUERS", "")),
            rate_limits=limits,
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI") or d.ratelimit_storage_uri,
            cors_origins=_csv(env.get("GATEWAY_CORS_ORIGINS", "")),
            readiness_timeout=env_float(env, "GATEWAY_READINESS_TIMEOUT", d.readiness_timeout),
            content_security_policy=env.get("GATEWAY_CSP", d.content_security_policy),
            portal_name=env.get("GATEWAY_PORTAL_NAME", "").strip(),
            receive_timeout=env_float(
                env, "GATEWAY_REQUEST_RECEIVE_TIMEOUT", d.receive_timeout, minimum=0.1
            ),
            metrics_allow=_networks(env.get("GATEWAY_METRICS_ALLOW"), d.metrics_allow),
            metrics_token=env.get("GATEWAY_METRICS_TOKEN", "").strip(),
            web_dir=Path(env["GATEWAY_WEB_DIR"]) if env.get("GATEWAY_WEB_DIR") else d.web_dir,
        )


def _networks(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated allow-list of networks ("none": nobody without the token)."""
    if raw is None or not raw.strip():
        return default
    if raw.strip().lower() == "none":
        return ()
    networks = _csv(raw)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"GATEWAY_METRICS_ALLOW: {network!r} is not a network") from None
    return networks
