"""Identity test fixtures: a migrated database (SQLite or PostgreSQL), the carrier
simulator as a real HTTP server, the app with cheap argon2 and a clock tests can move."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from deploy.simulators.carrier import DEMO_CSV, SubscriberRegistry, make_server
from harness.scratch import scratch_database
from services.core.bus import OutboxContext, OutboxMessage
from services.core.clock import utcnow
from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_engine, make_session_factory
from services.core.migrate import upgrade
from services.core.service import CONTEXT_KEY, ServiceDatabase
from services.identity.app import MIGRATIONS, create_app
from services.identity.config import Argon2Parameters, IdentityConfig
from services.identity.context import IdentityContext, build_context

ISSUER = "https://test.portal/api/identity"
CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost_kib=64, parallelism=1)


class Clock:
    """Real time plus an offset the test can move forward; `freeze` stops real time."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return (self.frozen or utcnow()) + self.offset

    def freeze(self) -> None:
        self.frozen = utcnow()

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class IdentityDb:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    kind: str
    connect_args: dict[str, str] = field(default_factory=dict)

    def commands(self, template: str | None = None) -> list[dict[str, Any]]:
        """The notify.send commands in the outbox, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.type == "notify.send")
                .order_by(OutboxMessage.seq)
            ).all()
        data = [json.loads(r.body)["data"] for r in rows]
        return [d for d in data if template is None or d["template"] == template]

    def events(self) -> list[dict[str, Any]]:
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "event")
                .order_by(OutboxMessage.seq)
            ).all()
        return [json.loads(r.body) for r in rows]

    def last_code(self, phone: str) -> str:
        """The newest OTP sent to this E.164 phone (read from the notify.send command)."""
        sent = [c for c in self.commands() if c["recipient"]["phone"] == phone]
        codes = [c["personalisation"]["code"] for c in sent if "code" in c["personalisation"]]
        assert codes, f"no OTP was sent to {phone}"
        return str(codes[-1])


@pytest.fixture(params=["sqlite", "postgresql"])
def identity_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdentityDb]:
    """A database brought to head by identity's own migrations."""
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with scratch_database(request.param, tmp_path, postgres, "id") as place:
        engine = make_engine(place.url, connect_args=place.connect_args)
        upgrade(MIGRATIONS, engine)
        sessions = make_session_factory(engine, outbox=OutboxContext(source="identity"))
        yield IdentityDb(place.url, engine, sessions, request.param, place.connect_args)
        engine.dispose()


@dataclass
class Carrier:
    url: str
    registry: SubscriberRegistry


@pytest.fixture
def carrier() -> Iterator[Carrier]:
    """The carrier simulator on a free port, loaded with the demo subscribers."""
    registry = SubscriberRegistry()
    registry.load_csv(DEMO_CSV)
    server = make_server(registry, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Carrier(f"http://127.0.0.1:{server.server_port}", registry)
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(carrier: Carrier) -> IdentityConfig:
    return IdentityConfig(
        otp_secret="test-otp-secret",
        key_encryption_secret="test-key-secret",
        argon2=CHEAP_ARGON2,
        carrier_url=carrier.url,
        carrier_timeout_seconds=2.0,
    )


def make_settings(db: IdentityDb, bus: BusSettings | None = None) -> ServiceSettings:
    return ServiceSettings(
        service="identity",
        database_url=db.url,
        token_issuer=ISSUER,
        token_audience="portal",
        bus=bus or BusSettings(),
    )


@pytest.fixture
def app(identity_db: IdentityDb, config: IdentityConfig, clock: Clock) -> Flask:
    database = ServiceDatabase(identity_db.engine, identity_db.sessions)
    return create_app(
        build_context(make_settings(identity_db), config, database=database, clock=clock)
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def identity(app: Flask) -> IdentityContext:
    ctx: IdentityContext = app.extensions[CONTEXT_KEY]
    return ctx
