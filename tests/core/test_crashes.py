"""Processes killed at the worst moment: nothing lost, no effect doubled."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pika
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.bus import (
    Consumer,
    Envelope,
    Names,
    OutboxRelay,
    OutboxStore,
    connection_parameters,
    record_event,
)
from services.core.config import BusSettings
from tests.conftest import Database
from tests.support.models import Effect
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until

ROOT = Path(__file__).resolve().parents[2]


def spawn(mode: str, db: Database, settings: BusSettings, marker: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BUS_PROCESS_SETTINGS": json.dumps(dataclasses.asdict(settings)),
        "BUS_PROCESS_DB_URL": db.url,
        "BUS_PROCESS_CONNECT": json.dumps(db.connect_args),
        "BUS_PROCESS_MARKER": str(marker),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.bus_process", mode], cwd=ROOT, env=env
    )


def effects(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(Effect.message_id)))


def record_effect(session: Session, env: Envelope) -> None:
    session.add(Effect(message_id=env.id, consumer="test"))


def test_relay_killed_after_confirm_before_marking_republishes_and_effect_is_once(
    db: Database, bus_settings: BusSettings, names: Names, tmp_path: Path
) -> None:
    consumer = Consumer("test", db.sessions, bus_settings, names=names)
    consumer.on_event("test.#")(record_effect)
    waiter = HandledWaiter(consumer)
    marker = tmp_path / "published"
    with running(consumer):
        wait_until(lambda: consumer.connected)
        with db.sessions() as session, session.begin():
            env = record_event(session, "test.thing.created", {})
        process = spawn("relay-die-after-confirm", db, bus_settings, marker)
        assert process.wait(timeout=30) == -signal.SIGKILL
        assert json.loads(marker.read_text()) == [env.id]
        waiter.wait_for(env.id)
        assert OutboxStore(db.sessions).status().pending == 1, "row must still be pending"
        # A fresh relay publishes the row again; the consumer recognises it.
        relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
        with running(relay):
            waiter.wait_for(env.id, "duplicate")
            wait_until(lambda: OutboxStore(db.sessions).status().pending == 0)
    assert effects(db) == [env.id]


def test_consumer_killed_mid_handler_gets_it_again_and_effect_is_once(
    db: Database, bus_settings: BusSettings, names: Names, tmp_path: Path
) -> None:
    marker = tmp_path / "handling"
    consumer = Consumer("test", db.sessions, bus_settings, names=names)
    consumer.on_event("test.#")(record_effect)
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        consumer.declare(conn.channel())
    with db.sessions() as session, session.begin():
        env = record_event(session, "test.thing.created", {})
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        process = spawn("consumer-die-mid-handler", db, bus_settings, marker)
        assert process.wait(timeout=30) == -signal.SIGKILL
        assert marker.read_text() == env.id
        assert effects(db) == [], "the killed handler's transaction must not have committed"
        waiter = HandledWaiter(consumer)
        with running(consumer):
            waiter.wait_for(env.id)
    assert effects(db) == [env.id]


def test_sigterm_finishes_the_message_in_hand_then_exits(
    db: Database, bus_settings: BusSettings, names: Names, tmp_path: Path
) -> None:
    marker = tmp_path / "handling"
    consumer = Consumer("test", db.sessions, bus_settings, names=names)
    consumer.on_event("test.#")(record_effect)
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        consumer.declare(conn.channel())
    with db.sessions() as session, session.begin():
        env = record_event(session, "test.thing.created", {})
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        process = spawn("consumer-slow-handler", db, bus_settings, marker)
        wait_until(marker.exists, timeout=30, what="the handler to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert effects(db) == [env.id]
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        queue = conn.channel().queue_declare(names.events_queue("test"), passive=True)
        assert queue.method.message_count == 0, "the finished message must have been acked"
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Effect)) == 1
