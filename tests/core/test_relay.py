"""The relay publishes committed outbox rows to the real broker, in order, once confirmed."""

from __future__ import annotations

import json

from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import select

from services.core.bus import (
    Names,
    OutboxMessage,
    OutboxRelay,
    OutboxStore,
    declare_exchanges,
    record_event,
    send_command,
)
from services.core.config import BusSettings
from tests.conftest import Database
from tests.support.running import running
from tests.support.waiting import wait_until


def bind_probe(channel: BlockingChannel, names: Names, exchange: str, key: str) -> str:
    declare_exchanges(channel, names)
    queue = f"{names.namespace}probe.{key}"
    channel.queue_declare(queue, exclusive=True)
    channel.queue_bind(queue, exchange, routing_key=key)
    return queue


def drain(
    channel: BlockingChannel, queue: str, expected: int, timeout: float = 10.0
) -> list[tuple]:
    got: list[tuple] = []

    def fetch() -> bool:
        while True:
            method, props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return len(got) >= expected
            got.append((props, json.loads(body)))

    wait_until(fetch, timeout, what=f"{expected} messages on {queue}")
    return got


def pending(db: Database) -> int:
    with db.sessions() as session:
        return len(
            session.scalars(select(OutboxMessage).where(OutboxMessage.published_at.is_(None))).all()
        )


def test_relay_publishes_events_and_commands_with_their_properties(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    commands = bind_probe(amqp_channel, names, names.commands_exchange, "notify.send")
    with db.sessions() as session, session.begin():
        ids = [record_event(session, "test.thing.created", {"n": i}).id for i in range(20)]
        cmd = send_command(session, "notify.send", {"template": "otp"})
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        got = drain(amqp_channel, events, 20)
        got_cmd = drain(amqp_channel, commands, 1)
        wait_until(lambda: pending(db) == 0, what="rows marked published")
    assert [body["id"] for _, body in got] == ids
    props, body = got[0]
    assert props.message_id == ids[0]
    assert props.type == "test.thing.created"
    assert props.content_type == "application/json"
    assert props.delivery_mode == 2
    assert body["source"] == "test" and body["province"] == "38"
    assert got_cmd[0][1]["id"] == cmd.id


def test_unroutable_command_waits_and_keeps_subject_order(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """A returned command is a failure: it and later rows of its subject wait for a queue."""
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    with db.sessions() as session, session.begin():
        send_command(session, "nobody.listens", {"step": 1}, subject="s1")
        record_event(session, "test.step", {"step": 2}, subject="s1")
        record_event(session, "test.step", {"step": 3}, subject="s2")
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        other = drain(amqp_channel, events, 1)
        assert [b["data"]["step"] for _, b in other] == [3]

        def first_failed() -> bool:
            with db.sessions() as session:
                row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)).first()
                return row is not None and row.attempts >= 1 and row.last_error is not None

        wait_until(first_failed, what="the returned command to be recorded as failed")
        with db.sessions() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)).all()
            assert "returned" in (rows[0].last_error or "")
            assert rows[1].published_at is None, "a later row of the subject jumped the queue"
        # Someone starts listening: the command goes, then the event of its subject.
        commands = bind_probe(amqp_channel, names, names.commands_exchange, "nobody.listens")
        drain(amqp_channel, commands, 1)
        later = drain(amqp_channel, events, 1)
        assert later[0][1]["data"]["step"] == 2
        wait_until(lambda: pending(db) == 0)


def test_old_published_rows_are_pruned(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    from datetime import timedelta

    with db.sessions() as session, session.begin():
        record_event(session, "test.thing.created", {})
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        wait_until(lambda: pending(db) == 0)
    store = OutboxStore(db.sessions)
    assert store.prune(timedelta(days=1)) == 0
    assert store.prune(timedelta(seconds=-1)) == 1
    assert store.status().published == 0


def test_two_relays_on_postgresql_publish_each_row_once_in_subject_order(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    with db.sessions() as session, session.begin():
        for i in range(600):
            record_event(session, "test.step", {"i": i}, subject=f"s{i % 7}")
    settings = BusSettings(**{**bus_settings.__dict__, "relay_batch_size": 50})
    relays = [OutboxRelay(db.sessions, settings, service="test", names=names) for _ in range(2)]
    with running(*relays):
        got = drain(amqp_channel, events, 600, timeout=30)
    ids = [b["id"] for _, b in got]
    assert len(ids) == len(set(ids)) == 600
    for s in range(7):
        steps = [b["data"]["i"] for _, b in got if b["subject"] == f"s{s}"]
        assert steps == sorted(steps), f"subject s{s} out of order"
    # Each row was marked published by exactly one relay.
    assert sum(r.published_total for r in relays) == 600


def test_stop_while_connecting_returns(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        pass  # stopped at once, most likely before the connection opened


def test_an_idle_relay_wakes_when_a_row_is_committed(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """NOTIFY (PostgreSQL) or the WAL change (SQLite) wakes it long before its idle poll."""
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    sleepy = BusSettings(**{**bus_settings.__dict__, "relay_idle_poll_interval": 120.0})
    relay = OutboxRelay(db.sessions, sleepy, service="test", names=names)
    with running(relay):
        wait_until(lambda: relay.connected)
        with db.sessions() as session, session.begin():
            record_event(session, "test.first", {})
        drain(amqp_channel, events, 1, timeout=5)  # the first look at start may take it
        with db.sessions() as session, session.begin():
            env = record_event(session, "test.later", {})
        got = drain(amqp_channel, events, 1, timeout=5)
    assert got[0][1]["id"] == env.id
