"""Typed configuration, read once at start from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


def _raw(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def env_float(
    env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0, strict: bool = False
) -> float:
    """A number of `name`, at least `minimum` (above it when `strict`), or the default."""
    raw = _raw(env, name)
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum or (strict and value == minimum):
        bound = "above" if strict else "at least"
        raise ConfigError(f"{name} must be {bound} {minimum}, got {raw!r}")
    return value


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    """An integer of `name`, at least `minimum`, or the default."""
    raw = _raw(env, name)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def env_delays(env: Mapping[str, str], name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """Comma-separated positive seconds, e.g. retry delays."""
    raw = _raw(env, name)
    if raw == "":
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc
    if any(v <= 0 for v in values):
        raise ConfigError(f"{name} delays must be positive, got {raw!r}")
    return values


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _raw(env, name).lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _relay_process(env: Mapping[str, str], default: str) -> str:
    if _raw(env, "WORKER_RELAY_PROCESS").lower() in ("", "auto"):
        return default
    return "true" if env_bool(env, "WORKER_RELAY_PROCESS", False) else "false"


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(env, name) or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_trusted_issuers(raw: str) -> dict[str, str]:
    """`issuer=jwks_url` pairs separated by whitespace or commas (TOKEN_TRUSTED_ISSUERS)."""
    trusted: dict[str, str] = {}
    for pair in raw.replace(",", " ").split():
        issuer, sep, url = pair.partition("=")
        if not sep or not issuer or not url:
            raise ConfigError(f"TOKEN_TRUSTED_ISSUERS entries are issuer=jwks_url, got {pair!r}")
        trusted[issuer] = url
    return trusted


def prometheus_multiprocess_dir(env: Mapping[str, str] | None = None) -> str:
    """The prometheus-client multiprocess directory gunicorn.conf.py gives the workers of a
    web process ("" elsewhere); prometheus-client reads the same variable when imported."""
    env = os.environ if env is None else env
    return (env.get("PROMETHEUS_MULTIPROC_DIR") or "").strip()


def _host_and_tail(text: str) -> tuple[str, str]:
    """`host:port/vhost?options` as (`host:port`, `/vhost?options`)."""
    cuts = [i for i in (text.find("/"), text.find("?")) if i >= 0]
    cut = min(cuts) if cuts else len(text)
    return text[:cut], text[cut:]


def parse_amqp_urls(raw: str) -> tuple[str, ...]:
    """The broker addresses of AMQP_URL / AMQP_URLS, in order, without repeats.

    Several URLs are separated by commas (or whitespace); one URL may also name several
    hosts, `amqp://user:pass@rabbit-1:5672,rabbit-2:5672,rabbit-3/vhost?heartbeat=10`,
    which is the same URL once per host: its credentials, vhost and options go to each.
    A comma inside a password is written %2C, as URLs require.
    """
    urls: list[str] = []
    groups: list[list[str]] = []
    for part in raw.replace(",", " ").split():
        if "://" in part:
            groups.append([part])
        elif groups:
            groups[-1].append(part)
        else:
            raise ConfigError(f"AMQP_URL must start with amqp:// or amqps://, got {part!r}")
    for group in groups:
        scheme, _, rest = group[0].partition("://")
        if scheme not in ("amqp", "amqps"):
            raise ConfigError(f"AMQP_URL must start with amqp:// or amqps://, got {scheme!r}")
        first, _ = _host_and_tail(rest)
        userinfo, at, _ = first.rpartition("@")
        hosts = [rest[len(userinfo + at) :], *group[1:]]
        # The vhost and options are written once, after the last host.
        hosts[-1], tail = _host_and_tail(hosts[-1])
        for host in hosts:
            if not host or "/" in host or "?" in host or "@" in host:
                raise ConfigError(f"AMQP_URL has a malformed broker address {host!r}")
            url = f"{scheme}://{userinfo}{at}{host}{tail}"
            if url not in urls:
                urls.append(url)
    if not urls:
        raise ConfigError("AMQP_URL names no broker")
    return tuple(urls)


def default_database_url(service: str) -> str:
    """The embedded default: one SQLite file per service under var/."""
    return f"sqlite:///{VAR_DIR / (service + '.db')}"


@dataclass(frozen=True)
class BusSettings:
    """Limits of the outbox relay and the consumers; every one has a safe default."""

    # One broker URL, or several separated by commas: the nodes of a cluster, tried in
    # turn (see amqp_urls and services/core/bus/brokers.py).
    amqp_url: str = DEFAULT_AMQP_URL
    namespace: str = ""
    relay_batch_size: int = 1000
    relay_poll_interval: float = 0.005
    relay_idle_poll_interval: float = 1.0
    relay_max_backoff: float = 60.0
    relay_confirm_timeout: float = 10.0
    relay_lease_seconds: float = 15.0
    relay_max_in_flight_batches: int = 4
    outbox_retention_days: float = 7.0
    outbox_prune_interval: float = 300.0
    consumer_prefetch: int = 50
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0)
    delivery_limit: int = 20
    # A returning broker is found within 5 s, so a backlog drains soon after an outage.
    reconnect_max_backoff: float = 5.0
    heartbeat: int = 30
    gil_switch_interval: float = 0.001
    # The relay in a child process: "auto" (SQLite only), "true" or "false"; see
    # relay_apart() and docs/decisions.md (Bus performance).
    relay_process: str = "auto"
    # How often a worker looks at its outbox backlog and its queues for /metrics (0: never).
    metrics_interval: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BusSettings:
        env = os.environ if env is None else env
        d = cls()
        amqp_url = _raw(env, "AMQP_URLS") or _raw(env, "AMQP_URL") or d.amqp_url
        parse_amqp_urls(amqp_url)  # a malformed address is refused at start
        return cls(
            amqp_url=amqp_url,
            namespace=env.get("BUS_NAMESPACE", d.namespace),
            relay_batch_size=max(1, env_int(env, "OUTBOX_BATCH_SIZE", d.relay_batch_size)),
            relay_poll_interval=env_float(env, "OUTBOX_POLL_INTERVAL", d.relay_poll_interval),
            relay_idle_poll_interval=env_float(
                env, "OUTBOX_IDLE_POLL_INTERVAL", d.relay_idle_poll_interval
            ),
            relay_max_backoff=env_float(env, "OUTBOX_MAX_BACKOFF", d.relay_max_backoff),
            relay_confirm_timeout=env_float(env, "OUTBOX_CONFIRM_TIMEOUT", d.relay_confirm_timeout),
            relay_max_in_flight_batches=max(
                1, env_int(env, "OUTBOX_MAX_IN_FLIGHT_BATCHES", d.relay_max_in_flight_batches)
            ),
            relay_lease_seconds=env_float(env, "OUTBOX_LEASE_SECONDS", d.relay_lease_seconds),
            outbox_retention_days=env_float(env, "OUTBOX_RETENTION_DAYS", d.outbox_retention_days),
            outbox_prune_interval=env_float(env, "OUTBOX_PRUNE_INTERVAL", d.outbox_prune_interval),
            consumer_prefetch=max(1, env_int(env, "CONSUMER_PREFETCH", d.consumer_prefetch)),
            retry_delays=env_delays(env, "CONSUMER_RETRY_DELAYS", d.retry_delays),
            delivery_limit=max(1, env_int(env, "CONSUMER_DELIVERY_LIMIT", d.delivery_limit)),
            reconnect_max_backoff=env_float(
                env, "BUS_RECONNECT_MAX_BACKOFF", d.reconnect_max_backoff
            ),
            heartbeat=env_int(env, "AMQP_HEARTBEAT", d.heartbeat),
            gil_switch_interval=max(
                0.0001, env_float(env, "WORKER_GIL_SWITCH_INTERVAL", d.gil_switch_interval)
            ),
            relay_process=_relay_process(env, d.relay_process),
            metrics_interval=env_float(env, "BUS_METRICS_INTERVAL", d.metrics_interval),
        )

    @property
    def amqp_urls(self) -> tuple[str, ...]:
        """Every broker address, in the order they are tried."""
        return parse_amqp_urls(self.amqp_url)

    def relay_apart(self, database_url: str) -> bool:
        """Whether a worker on this database runs its relay in a process of its own.

        On SQLite the relay's writes and the consumer's queue for one write lock, and as
        threads of one process they also queue for the GIL; apart, events are handled
        sooner. On PostgreSQL apart changes no latency and costs throughput under load.
        """
        if self.relay_process == "auto":
            return make_url(database_url).get_backend_name() == "sqlite"
        return self.relay_process == "true"


@dataclass(frozen=True)
class ServiceSettings:
    """What every service process needs: who it is, where its data lives, the bus."""

    service: str
    database_url: str
    portal_role: str = "national"
    province: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    worker_health_port: int = 0
    # 127.0.0.1 on one machine; 0.0.0.0 in a container so the kubelet can probe it.
    worker_health_host: str = "127.0.0.1"
    # Where identity's public keys are, and what its tokens must say.
    jwks_url: str = "http://127.0.0.1:8001/api/identity/.well-known/jwks.json"
    token_issuer: str = "http://127.0.0.1:8000/api/identity"
    token_audience: str = "portal"
    # More issuers to trust, issuer -> JWKS URL: a province trusts the national identity.
    trusted_issuers: tuple[tuple[str, str], ...] = ()
    bus: BusSettings = field(default_factory=BusSettings)

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        role = env.get("PORTAL_ROLE", "national")
        if role not in ("national", "province"):
            raise ConfigError(f"PORTAL_ROLE must be 'national' or 'province', got {role!r}")
        province = env.get("PORTAL_PROVINCE", "")
        if role == "province" and not (len(province) == 2 and province.isdigit()):
            raise ConfigError("PORTAL_PROVINCE must be a two-digit province code for a province")
        return cls(
            service=service,
            database_url=env.get(f"{service.upper()}_DATABASE_URL")
            or default_database_url(service),
            portal_role=role,
            province=province,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            log_json=env.get("LOG_FORMAT", "json") != "text",
            worker_health_port=env_int(env, f"{service.upper()}_WORKER_HEALTH_PORT", 0),
            worker_health_host=(env.get("WORKER_HEALTH_HOST") or "").strip() or "127.0.0.1",
            jwks_url=env.get("IDENTITY_JWKS_URL") or cls.jwks_url,
            token_issuer=env.get("TOKEN_ISSUER") or cls.token_issuer,
            token_audience=env.get("TOKEN_AUDIENCE") or cls.token_audience,
            trusted_issuers=tuple(
                parse_trusted_issuers(env.get("TOKEN_TRUSTED_ISSUERS", "")).items()
            ),
            bus=BusSettings.from_env(env),
        )
