"""Fixtures of the notify tests: a migrated database, the SMS simulator, an SMTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from deploy.simulators.sms_gateway import SmsGatewaySimulator
from harness.scratch import scratch_database
from services.core.bus import Envelope, OutboxContext
from services.core.db import make_engine, make_session_factory
from services.core.migrate import upgrade
from services.notify.app import MIGRATIONS
from services.notify.config import NotifySettings
from services.notify.delivery import accept


@dataclass
class NotifyDb:
    """The notify schema, migrated with alembic, on SQLite or PostgreSQL."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    kind: str
    connect_args: dict[str, str]


def _open(url: str, kind: str, connect_args: dict[str, str]) -> NotifyDb:
    engine = make_engine(url, connect_args=connect_args)
    upgrade(MIGRATIONS, engine)
    sessions = make_session_factory(engine, outbox=OutboxContext(source="notify"))
    return NotifyDb(url, engine, sessions, kind, connect_args)


@pytest.fixture(params=["sqlite", "postgresql"])
def notify_db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[NotifyDb]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with scratch_database(request.param, tmp_path, postgres, "n") as place:
        database = _open(place.url, request.param, place.connect_args)
        yield database
        database.engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Any) -> Iterator[NotifyDb]:
    database = _open(f"sqlite:///{tmp_path}/notify.db", "sqlite", {})
    yield database
    database.engine.dispose()


class Clock:
    """A clock the test moves by hand, to prove the retry schedule without waiting."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notify_settings() -> NotifySettings:
    return NotifySettings(retry_delays=(10.0, 60.0), delivery_threads=2, poll_interval=0.05)


@pytest.fixture
def gateway() -> Iterator[SmsGatewaySimulator]:
    simulator = SmsGatewaySimulator(api_key="test-key").start()
    yield simulator
    simulator.stop()


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) keeping every message it received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: int | None = None
    greetings: int = 0
    controller: Any = None

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1  # one per SMTP connection
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse is not None:
            return f"{self.refuse} mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink("127.0.0.1", free_port())
    sink.controller = Controller(sink, hostname=sink.host, port=sink.port)
    sink.controller.start()
    yield sink
    sink.controller.stop()


def accept_command(
    session: Session, envelope: Envelope, settings: NotifySettings, now: datetime
) -> list[str]:
    """notify's handling of one notify.send, flushed: the ids of what to send now."""
    to_send = accept(session, envelope, settings, now)
    session.flush()
    return [notification.id for notification in to_send]


def make_command(
    template: str = "dossier_submitted",
    channels: tuple[str, ...] = ("sms", "email", "inbox"),
    *,
    account_id: str | None = "acc-1",
    phone: str | None = "+84912345678",
    email: str | None = "nguyenvana@example.vn",
    personalisation: dict[str, Any] | None = None,
    reference: str | None = "dossier-1",
    command_id: str | None = None,
) -> Envelope:
    """A `notify.send` command as identity or dossier would send it."""
    if personalisation is None:
        personalisation = {
            "dossier_code": "H38.01-261122-0001",
            "procedure_name": "Đăng ký khai sinh",
            "due_date": "25/11/2026",
        }
    data = {
        "template": template,
        "channels": list(channels),
        "recipient": {"account_id": account_id, "phone": phone, "email": email},
        "personalisation": personalisation,
        "reference": reference,
    }
    envelope = Envelope(type="notify.send", data=data, source="dossier", subject=reference)
    if command_id is not None:
        envelope = replace(envelope, id=command_id)
    return envelope
