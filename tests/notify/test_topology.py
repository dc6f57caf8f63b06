"""What notify consumes and publishes matches the contract; nothing secret is logged."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from services.core.bus import Consumer
from services.core.config import BusSettings, ServiceSettings
from services.core.service import ServiceDatabase
from services.notify.config import NotifySettings
from services.notify.context import build_context
from services.notify.dispatcher import Dispatcher
from services.notify.events import CONSUMED_COMMANDS, PUBLISHED_EVENTS, build_consumer
from services.notify.models import Notification
from services.notify.providers import build_providers
from tests.notify.conftest import Clock, NotifyDb, accept_command, make_command

CONTRACT = Path("/work/shared/CONTRACT.md")


def test_every_consumed_command_has_a_queue_and_a_handler(sqlite_db: NotifyDb) -> None:
    settings = ServiceSettings(service="notify", database_url=sqlite_db.url, bus=BusSettings())
    dispatcher = Dispatcher(sqlite_db.sessions, {}, NotifySettings())
    database = ServiceDatabase(sqlite_db.engine, sqlite_db.sessions)
    ctx = build_context(settings, NotifySettings(), database=database)
    consumer: Consumer = build_consumer(ctx, dispatcher)
    [spec] = consumer.queue_specs()
    assert spec.name == "notify.commands" and spec.exchange == "portal.commands"
    assert set(spec.routing_keys) == set(CONSUMED_COMMANDS)
    for command in CONSUMED_COMMANDS:
        assert consumer.handler_for(spec.name, command) is not None


CONTRACT_EVENTS = {"notify.notification.delivered", "notify.notification.failed"}


def test_every_published_event_is_in_the_contract() -> None:
    assert set(PUBLISHED_EVENTS) == CONTRACT_EVENTS
    if CONTRACT.exists():  # the shared contract, where the engineers' machines have it
        text = CONTRACT.read_text(encoding="utf-8")
        assert set(re.findall(r"`(notify\.[a-z_.]+)`", text)) >= CONTRACT_EVENTS


def test_otp_codes_never_reach_the_logs(
    sqlite_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    command = make_command(
        "otp_registration",
        ("sms", "email", "inbox"),
        personalisation={"code": "907153", "minutes": 5},
    )
    with sqlite_db.sessions.begin() as session:
        ids = accept_command(session, command, notify_settings, clock())
    dispatcher = Dispatcher(
        sqlite_db.sessions,
        build_providers(notify_settings, sqlite_db.sessions),
        notify_settings,
        clock=clock,
    )
    assert [dispatcher.deliver(i) for i in ids] == ["delivered"] * 3
    assert caplog.records, "delivery logs something"
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "907153" not in logged
    with sqlite_db.sessions() as session:
        assert all(body == "" for body in session.scalars(select(Notification.body)))
