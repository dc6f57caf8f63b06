"""Fixtures for real infrastructure: RabbitMQ, PostgreSQL and SQLite.

The broker is found at AMQP_URL and PostgreSQL at TEST_DATABASE_URL. Where one does
not answer and a Docker engine does, it is started with testcontainers. In CI
(CI=true) a missing broker or database fails the test; elsewhere it is skipped with
the reason.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import pika
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harness.scratch import scratch_database
from services.core.bus import BusBase, Names, OutboxContext, connection_parameters, delete_namespace
from services.core.config import DEFAULT_AMQP_URL, BusSettings
from services.core.db import make_engine, make_session_factory
from tests.support.models import SampleBase

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _missing(what: str) -> None:
    message = f"{what} is not reachable and no Docker engine can start one"
    if IN_CI:
        pytest.fail(message + " (CI never skips infrastructure tests)", pytrace=False)
    pytest.skip(message)


def _running_or_container(
    url: str, port: int, what: str, container: Callable[[], AbstractContextManager[str]]
) -> Iterator[str]:
    """The service at `url` if it answers; else one in a container where Docker runs;
    else a skip, or in CI a failure."""
    if _answers(url, port):
        yield url
        return
    if not _docker_available():
        _missing(f"{what} at {url}")
    with container() as started:
        yield started


@contextmanager
def _rabbitmq_container() -> Iterator[str]:
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-management") as container:
        params = container.get_connection_params()
        yield f"amqp://guest:guest@{params.host}:{params.port}/"


@contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver="psycopg") as container:
        yield container.get_connection_url()


@contextmanager
def _redis_container() -> Iterator[str]:
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7") as container:
        yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    yield from _running_or_container(url, 5672, "RabbitMQ", _rabbitmq_container)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    yield from _running_or_container(url, 5432, "PostgreSQL", _postgres_container)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Redis for the gateway's shared rate limits (REDIS_URL, else a container)."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    yield from _running_or_container(url, 6379, "Redis", _redis_container)


@pytest.fixture
def bus_settings(amqp_url: str) -> BusSettings:
    """Fast retries and polls so tests run quickly; a namespace of its own per test."""
    return BusSettings(
        amqp_url=amqp_url,
        namespace=f"t{uuid.uuid4().hex[:10]}.",
        relay_poll_interval=0.005,
        retry_delays=(0.1, 0.2),
        relay_max_backoff=0.5,
        reconnect_max_backoff=0.5,
        delivery_limit=5,
        relay_lease_seconds=2.0,
    )


@pytest.fixture
def names(bus_settings: BusSettings) -> Iterator[Names]:
    names = Names(bus_settings.namespace)
    yield names
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        delete_namespace(
            conn.channel(),
            names,
            ["test", "other", "identity", "catalog", "dossier", "notify"],
            bus_settings,
        )


@pytest.fixture
def amqp_channel(
    bus_settings: BusSettings,
) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        yield conn.channel()


@dataclass
class Database:
    """One isolated database for one test: a SQLite file or a PostgreSQL schema."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    kind: str
    connect_args: dict[str, str]

    def fresh_engine(self) -> Engine:
        return make_engine(self.url, connect_args=self.connect_args)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with the bus tables and the test tables, on SQLite and on PostgreSQL."""
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with scratch_database(request.param, tmp_path, postgres) as place:
        engine = make_engine(place.url, connect_args=place.connect_args)
        BusBase.metadata.create_all(engine)
        SampleBase.metadata.create_all(engine)
        sessions = make_session_factory(engine, outbox=OutboxContext(source="test", province="38"))
        yield Database(place.url, engine, sessions, request.param, place.connect_args)
        engine.dispose()


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(settings: BusSettings, **changes: object) -> BusSettings:
    return replace(settings, **changes)  # type: ignore[arg-type]
