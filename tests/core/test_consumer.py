"""Consumers against the real broker: effects once, retries, DLQ, replay, reconnects."""

from __future__ import annotations

import json
import uuid

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.bus import (
    Envelope,
    OutboxRelay,
    OutboxStore,
    connection_parameters,
    list_dead_letters,
    record_event,
    replay_dead_letters,
)
from services.core.bus.consumer import Consumer, PermanentError, topic_matches
from services.core.bus.names import HEADER_FAILURE_KIND, HEADER_FAILURE_REASON, Names
from services.core.config import BusSettings
from tests.conftest import Database
from tests.support.models import Effect
from tests.support.proxy import FaultProxy
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until


def effects(db: Database, message_id: str | None = None) -> int:
    with db.sessions() as session:
        query = select(func.count()).select_from(Effect)
        if message_id is not None:
            query = query.where(Effect.message_id == message_id)
        return int(session.scalar(query) or 0)


def record_effect(session: Session, env: Envelope) -> None:
    session.add(Effect(message_id=env.id, consumer="test", value=str(env.data)))


def publish_raw(
    settings: BusSettings, exchange: str, key: str, body: bytes, **props: object
) -> None:
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange, key, body, pika.BasicProperties(delivery_mode=2, **props), mandatory=True
        )


def make_consumer(db: Database, settings: BusSettings, names: Names) -> Consumer:
    return Consumer("test", db.sessions, settings, names=names)


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("catalog.procedure.*", "catalog.procedure.published", True),
        ("catalog.procedure.*", "catalog.procedure", False),
        ("catalog.#", "catalog.procedure.published", True),
        ("#", "a.b", True),
        ("dossier.submitted", "dossier.received", False),
    ],
)
def test_topic_matching(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_end_to_end_effect_happens_once_even_when_redelivered(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.thing.*")(record_effect)
    waiter = HandledWaiter(consumer)
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(consumer, relay):
        wait_until(lambda: consumer.connected)
        with db.sessions() as session, session.begin():
            env = record_event(session, "test.thing.created", {"n": 1})
        waiter.wait_for(env.id)
        # The same message again, as a broker redelivery would bring it.
        publish_raw(
            bus_settings,
            names.events_exchange,
            env.type,
            env.to_body(),
            message_id=env.id,
            type=env.type,
        )
        waiter.wait_for(env.id, "duplicate")
    assert effects(db, env.id) == 1


def test_copies_arriving_together_take_effect_once(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    """Copies of one message in one batch, beside a fresh one: each effect once."""
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.thing.*")(record_effect)
    outcomes: list[tuple[str, str]] = []
    consumer.observe(lambda env, outcome: outcomes.append((env.id, outcome)))
    with running(consumer):
        wait_until(lambda: consumer.connected)
        consumer.stop()  # queue declared: let the copies pile up, then handle them together
    twice = Envelope(type="test.thing.created", data={"n": 1}, source="test")
    once = Envelope(type="test.thing.created", data={"n": 2}, source="test")
    for env in (twice, twice, once, twice):
        publish_raw(
            bus_settings,
            names.events_exchange,
            env.type,
            env.to_body(),
            message_id=env.id,
            type=env.type,
        )
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.thing.*")(record_effect)
    consumer.observe(lambda env, outcome: outcomes.append((env.id, outcome)))
    with running(consumer):
        wait_until(lambda: len(outcomes) == 4, what="four deliveries handled")
    assert effects(db, twice.id) == 1 and effects(db, once.id) == 1
    assert sorted(outcome for _, outcome in outcomes) == [
        "duplicate",
        "duplicate",
        "handled",
        "handled",
    ]


def test_failing_handler_is_retried_with_delay_then_dead_lettered_and_replayed(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    broken = {"on": True}

    def flaky(session: Session, env: Envelope) -> None:
        if broken["on"]:
            raise RuntimeError("downstream is down")
        record_effect(session, env)

    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.poison")(flaky)
    waiter = HandledWaiter(consumer)
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(consumer, relay):
        wait_until(lambda: consumer.connected)
        with db.sessions() as session, session.begin():
            env = record_event(session, "test.poison", {"x": 1})
        waiter.wait_for(env.id, "dead_lettered", timeout=15)
        assert waiter.outcomes[env.id].count("retried") == len(bus_settings.retry_delays)
        letters = list_dead_letters(bus_settings, "test")
        assert [letter.message_id for letter in letters] == [env.id]
        assert letters[0].kind == "handler_failed"
        assert "downstream is down" in (letters[0].reason or "")
        assert letters[0].attempts == len(bus_settings.retry_delays)
        assert effects(db) == 0
        # The operator fixes the fault and replays.
        broken["on"] = False
        replayed: list[str] = []
        # The letters `list` looked at go back to the queue asynchronously.
        wait_until(
            lambda: bool(
                replayed.extend(replay_dead_letters(bus_settings, "test", env.id)) or replayed
            )
        )
        assert replayed == [env.id]
        waiter.wait_for(env.id, "handled")
    assert effects(db, env.id) == 1
    assert list_dead_letters(bus_settings, "test") == []


def test_dead_letter_headers_carry_the_reason(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    def refuse(session: Session, env: Envelope) -> None:
        raise PermanentError("procedure code unknown")

    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.permanent")(refuse)
    waiter = HandledWaiter(consumer)
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(consumer, relay):
        wait_until(lambda: consumer.connected)
        with db.sessions() as session, session.begin():
            env = record_event(session, "test.permanent", {})
        waiter.wait_for(env.id, "dead_lettered")
    method, props, _ = amqp_channel.basic_get(names.dead_letter_queue("test"), auto_ack=True)
    assert method is not None
    assert props.headers[HEADER_FAILURE_KIND] == "permanent"
    assert props.headers[HEADER_FAILURE_REASON] == "procedure code unknown"


def test_undeserialisable_and_unknown_types_go_to_the_dlq_at_once(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.#")(record_effect)
    waiter = HandledWaiter(consumer)
    good = Envelope(type="test.ok", data={}, source="x")
    unknown = Envelope(type="other.thing", data={}, source="x")
    with running(consumer):
        wait_until(lambda: consumer.connected)
        publish_raw(
            bus_settings, names.events_exchange, "test.garbage", b"{not json", message_id="g1"
        )
        # Routed here by the binding, but typed as something nobody handles.
        publish_raw(
            bus_settings, names.events_exchange, "test.ok", unknown.to_body(), message_id=unknown.id
        )
        publish_raw(
            bus_settings, names.events_exchange, "test.ok", good.to_body(), message_id=good.id
        )
        waiter.wait_for(good.id)
        waiter.wait_for(unknown.id, "dead_lettered")
        wait_until(lambda: len(list_dead_letters(bus_settings, "test")) == 2)
    kinds = {d.message_id: d.kind for d in list_dead_letters(bus_settings, "test")}
    assert kinds == {"g1": "undeserialisable", unknown.id: "unknown_type"}
    assert effects(db) == 1


def test_broker_cut_loses_nothing_and_topology_comes_back(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """Cut every connection: commits still succeed; after the return all arrive once."""
    target = pika.URLParameters(bus_settings.amqp_url)
    consumer_proxy = FaultProxy(target.host, target.port)
    relay_proxy = FaultProxy(target.host, target.port)

    def through(proxy: FaultProxy) -> BusSettings:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        return BusSettings(**{**bus_settings.__dict__, "amqp_url": url})

    consumer = make_consumer(db, through(consumer_proxy), names)
    consumer.on_event("test.#")(record_effect)
    waiter = HandledWaiter(consumer)
    relay = OutboxRelay(db.sessions, through(relay_proxy), service="test", names=names)
    ids: list[str] = []

    def commit(n: int) -> None:
        for i in range(n):
            with db.sessions() as session, session.begin():
                ids.append(record_event(session, "test.thing.created", {"i": i}).id)

    try:
        with running(consumer, relay):
            wait_until(lambda: consumer.connected and relay.connected)
            commit(10)
            waiter.wait_for_all(ids[:10])
            consumer_proxy.cut()
            relay_proxy.cut()
            wait_until(lambda: not relay.connected and not consumer.connected)
            # The broker lost the service's queue and its bindings while it was away.
            amqp_channel.queue_delete(names.events_queue("test"))
            commit(25)
            assert OutboxStore(db.sessions).status().pending == 25
            # The consumer comes back first and declares its queue and bindings again;
            # events published before that would wait on the unrouted queue instead.
            consumer_proxy.restore()
            wait_until(lambda: consumer.connected, timeout=15)
            relay_proxy.restore()
            waiter.wait_for_all(ids, timeout=30)
    finally:
        consumer_proxy.close()
        relay_proxy.close()
    assert effects(db) == 35
    with db.sessions() as session:
        per_message = session.execute(
            select(Effect.message_id, func.count()).group_by(Effect.message_id)
        ).all()
    assert all(n == 1 for _, n in per_message)
    assert OutboxStore(db.sessions).status().pending == 0


def test_unhandled_event_type_is_not_lost(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """An event nobody subscribes to yet is kept on the unrouted queue, not dropped."""
    with db.sessions() as session, session.begin():
        env = record_event(session, "test.nobody.cares", {})
    relay = OutboxRelay(db.sessions, bus_settings, service="test", names=names)
    with running(relay):
        wait_until(lambda: relay.connected)

        def arrived() -> bool:
            method, _, body = amqp_channel.basic_get(
                f"{names.namespace}portal.unrouted", auto_ack=True
            )
            return method is not None and json.loads(body)["id"] == env.id

        wait_until(arrived)


def test_consumer_queue_is_a_quorum_queue_with_dead_lettering(
    db: Database, bus_settings: BusSettings, names: Names
) -> None:
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.x")(record_effect)
    consumer.on_command("test.do")(record_effect)
    with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
        channel = conn.channel()
        consumer.declare(channel)
        consumer.declare(channel)  # idempotent
        # A redeclare with other arguments would fail: the arguments are what we expect.
        from services.core.bus.topology import consuming_queue_arguments

        args = consuming_queue_arguments(names, "test", bus_settings)
        assert args["x-queue-type"] == "quorum"
        assert args["x-dead-letter-exchange"] == names.dead_letter_exchange
        channel.queue_declare(names.events_queue("test"), durable=True, arguments=args)
        channel.queue_declare(names.commands_queue("test"), durable=True, arguments=args)
    _ = uuid


def test_a_replay_takes_each_dead_letter_once_even_if_it_fails_again_at_once(
    bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """A replayed letter that is dead-lettered again before the replay ends stays put."""
    dlq = names.dead_letter_queue("test")
    amqp_channel.queue_declare(dlq, durable=True)
    try:
        for n in range(2):
            amqp_channel.basic_publish(
                "",
                dlq,
                json.dumps({"n": n}).encode(),
                pika.BasicProperties(
                    message_id=f"letter-{n}",
                    delivery_mode=2,
                    # The letter's own queue is the DLQ: every replay lands back in it at once,
                    # as a message whose handler still fails does.
                    headers={"x-portal-queue": dlq},
                ),
            )
        replayed = replay_dead_letters(bus_settings, "test", limit=50)
        assert replayed == ["letter-0", "letter-1"]
        assert amqp_channel.queue_declare(dlq, passive=True).method.message_count == 2
    finally:
        amqp_channel.queue_delete(dlq)
