"""Several broker addresses (the nodes of a cluster): parsing them, and failing over.

The failover tests put two proxies in front of the one test broker, standing for two
nodes of a cluster; cutting a proxy is losing that node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlparse

import pika
import pika.exceptions
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from services.core.bus import Envelope, OutboxRelay, connection_parameters, record_event
from services.core.bus.brokers import Brokers
from services.core.bus.names import Names
from services.core.config import BusSettings, ConfigError, parse_amqp_urls
from services.core.web import BrokerCheck
from tests.conftest import Database
from tests.core.test_consumer import effects, make_consumer, publish_raw, record_effect
from tests.support.proxy import FaultProxy
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until

REFUSING = "amqp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", ("amqp://guest:guest@127.0.0.1:5672/",)),
        (
            "amqp://u:p@rabbit-1:5672/%2F, amqp://u:p@rabbit-2:5672/%2F",
            ("amqp://u:p@rabbit-1:5672/%2F", "amqp://u:p@rabbit-2:5672/%2F"),
        ),
        (
            "amqp://u:p@rabbit-1:5672,rabbit-2:5673,rabbit-3/portal?heartbeat=10",
            (
                "amqp://u:p@rabbit-1:5672/portal?heartbeat=10",
                "amqp://u:p@rabbit-2:5673/portal?heartbeat=10",
                "amqp://u:p@rabbit-3/portal?heartbeat=10",
            ),
        ),
        (
            "amqps://a:b@n1,n2/v\namqp://c:d@n3/w amqps://a:b@n1/v",
            ("amqps://a:b@n1/v", "amqps://a:b@n2/v", "amqp://c:d@n3/w"),
        ),
        ("amqp://p%2Cq@n1,n2", ("amqp://p%2Cq@n1", "amqp://p%2Cq@n2")),
    ],
)
def test_broker_addresses_are_read_in_order(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_amqp_urls(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", " , ", "rabbit-1:5672", "http://rabbit-1/", "amqp://u:p@", "amqp://u@n1/v,n2"]
)
def test_a_malformed_broker_list_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ConfigError):
        parse_amqp_urls(raw)
    if raw.strip(" ,"):
        with pytest.raises(ConfigError):
            BusSettings.from_env({"AMQP_URL": raw})


def test_amqp_urls_is_read_before_amqp_url_and_each_node_gets_the_bus_limits() -> None:
    settings = BusSettings.from_env(
        {
            "AMQP_URL": "amqp://u:p@single/",
            "AMQP_URLS": "amqp://u:p@n1:5672,n2:5672/%2F",
            "AMQP_HEARTBEAT": "7",
        }
    )
    assert settings.amqp_urls == ("amqp://u:p@n1:5672/%2F", "amqp://u:p@n2:5672/%2F")
    params = connection_parameters(settings)
    assert [(p.host, p.port, p.virtual_host) for p in params] == [
        ("n1", 5672, "/"),
        ("n2", 5672, "/"),
    ]
    assert {(p.heartbeat, p.connection_attempts, p.socket_timeout) for p in params} == {(7, 1, 5)}
    several = BusSettings.from_env({"AMQP_URL": "amqp://u:p@n1/, amqp://u:p@n2/"})
    assert several.amqp_urls == ("amqp://u:p@n1/", "amqp://u:p@n2/")


def test_a_client_tries_the_next_node_first_after_losing_one(amqp_url: str) -> None:
    settings = BusSettings(amqp_url=f"{REFUSING},{amqp_url},{amqp_url}?heartbeat=9")
    brokers = Brokers(settings)
    with brokers.connect():
        assert brokers.current is brokers.parameters[1]  # the first refused
    brokers.connection_ended()
    assert [index for index, _ in brokers.in_turn()] == [2, 0, 1]
    with brokers.connect():
        assert brokers.current is brokers.parameters[2]
    brokers.connection_ended()
    assert [index for index, _ in brokers.in_turn()] == [0, 1, 2]


def test_readiness_holds_while_any_node_answers(amqp_url: str) -> None:
    assert BrokerCheck(BusSettings(amqp_url=f"{REFUSING},{amqp_url}"))()
    assert not BrokerCheck(BusSettings(amqp_url=f"{REFUSING},amqp://guest:guest@127.0.0.1:2/"))()


@pytest.fixture
def two_nodes(amqp_url: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    broker = urlparse(amqp_url)
    nodes = (
        FaultProxy(broker.hostname or "127.0.0.1", broker.port or 5672),
        FaultProxy(broker.hostname or "127.0.0.1", broker.port or 5672),
    )
    yield nodes
    for node in nodes:
        node.close()


def test_relay_and_consumer_fail_over_between_nodes_losing_and_doubling_nothing(
    db: Database,
    bus_settings: BusSettings,
    names: Names,
    amqp_channel: BlockingChannel,
    two_nodes: tuple[FaultProxy, FaultProxy],
) -> None:
    first, second = two_nodes
    settings = replace(
        bus_settings,
        amqp_url=f"amqp://guest:guest@127.0.0.1:{first.port},127.0.0.1:{second.port}/",
    )
    consumer = make_consumer(db, settings, names)
    consumer.on_event("test.#")(record_effect)
    waiter = HandledWaiter(consumer)
    relay = OutboxRelay(db.sessions, settings, service="test", names=names)
    ids: list[str] = []

    def commit(n: int) -> list[str]:
        new = []
        for i in range(n):
            with db.sessions() as session, session.begin():
                new.append(record_event(session, "test.thing.created", {"i": i}).id)
        ids.extend(new)
        return new

    def on(node: int) -> bool:
        return (
            relay.connected
            and consumer.connected
            and relay.brokers.current is relay.brokers.parameters[node]
            and consumer.brokers.current is consumer.brokers.parameters[node]
        )

    with running(consumer, relay):
        wait_until(lambda: on(0), what="relay and consumer on the first node")
        waiter.wait_for_all(commit(10))
        first.cut()  # the first node is lost: both move to the second
        commit(15)
        wait_until(lambda: on(1), what="relay and consumer on the second node")
        waiter.wait_for_all(ids)
        first.restore()
        second.cut()  # and back to the first, which returned
        waiter.wait_for_all(commit(10))
        wait_until(lambda: on(0), what="relay and consumer back on the first node")
    assert effects(db) == len(ids) == 35
    assert all(effects(db, message_id) == 1 for message_id in ids)


def consumers_on(settings: BusSettings, queue: str) -> int:
    """How many consumers the queue has; 0 while it does not exist."""
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        try:
            return int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
        except pika.exceptions.ChannelClosedByBroker:
            return 0


def test_a_consumer_the_broker_cancels_comes_back_by_itself(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    """A cluster node holding a queue may go while the consumer's own node stays: the
    broker cancels the consumer and the connection lives on. Deleting the queue makes
    the broker do the same."""
    consumer = make_consumer(db, bus_settings, names)
    consumer.on_event("test.#")(record_effect)
    waiter = HandledWaiter(consumer)
    queue = names.events_queue("test")
    with running(consumer):
        wait_until(lambda: consumer.connected)
        amqp_channel.queue_delete(queue)
        wait_until(lambda: consumers_on(bus_settings, queue) == 1, 15, 0.2, "consuming again")
        envelope = Envelope(type="test.thing.created", data={}, source="x")
        publish_raw(
            bus_settings,
            names.events_exchange,
            envelope.type,
            envelope.to_body(),
            message_id=envelope.id,
            type=envelope.type,
        )
        waiter.wait_for(envelope.id)
    assert effects(db, envelope.id) == 1
