"""What ops watch on the bus: the worker's backlog gauges, the bounded portal.unrouted queue,
and the DLQ commands' one-line answers."""

from __future__ import annotations

import json
import urllib.request

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.core.bus import (
    Consumer,
    Names,
    declare_exchanges,
    record_event,
    serve_health,
    topology,
)
from services.core.bus.observer import BusObserver
from services.core.bus.topology import declare_service_queues
from services.core.cli import main as portal
from services.core.config import BusSettings
from tests.conftest import Database


def values(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def declare_test_queues(channel: BlockingChannel, names: Names, settings: BusSettings) -> str:
    consumer = Consumer("test", lambda: None, settings, names=names)  # type: ignore[arg-type]
    consumer.on_event("test.thing.*")(lambda session, envelope: None)
    declare_exchanges(channel, names)
    declare_service_queues(channel, names, "test", consumer.queue_specs(), settings)
    return names.events_queue("test")


def publish(channel: BlockingChannel, exchange: str, key: str, body: bytes = b"{}") -> None:
    channel.basic_publish(exchange, key, body, pika.BasicProperties(delivery_mode=2))


def test_the_observer_exports_backlog_age_queue_depth_lag_and_dead_letters(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    with db.sessions() as session, session.begin():
        record_event(session, "test.thing.created", {})
        record_event(session, "test.thing.created", {})
    queue = declare_test_queues(amqp_channel, names, bus_settings)
    amqp_channel.confirm_delivery()
    for _ in range(3):
        publish(amqp_channel, names.events_exchange, "test.thing.created")
    publish(amqp_channel, names.dead_letter_exchange, names.dead_letter_routing_key("test"))
    publish(amqp_channel, names.events_exchange, "nobody.listens")
    observer = BusObserver("test", db.sessions, bus_settings, [queue], names=names)
    try:
        observer.observe()
    finally:
        observer.stop()
        observer._close()
    seen = values(observer.registry())
    service = (("service", "test"),)
    assert seen[("portal_outbox_backlog", service)] == 2
    assert seen[("portal_outbox_oldest_age_seconds", service)] >= 0
    assert seen[("portal_consumer_lag_messages", service)] == 3
    assert seen[("portal_queue_messages", (("queue", queue), ("service", "test")))] == 3
    assert seen[("portal_queue_consumers", (("queue", queue), ("service", "test")))] == 0
    assert seen[("portal_dead_letters", service)] == 1
    unrouted = f"{names.namespace}portal.unrouted"
    assert seen[("portal_unrouted_messages", (("queue", unrouted),))] == 1


def test_an_unreachable_broker_leaves_queue_gauges_out_and_counts_the_error(
    db: Database, bus_settings: BusSettings
) -> None:
    settings = BusSettings(amqp_url="amqp://guest:guest@127.0.0.1:1/", namespace="x.")
    observer = BusObserver("test", db.sessions, settings, ["x.test.events"])
    observer.observe()
    seen = values(observer.registry())
    names = {name for name, _ in seen}
    assert "portal_outbox_backlog" in names
    assert "portal_queue_messages" not in names and "portal_dead_letters" not in names
    errors = (("service", "test"), ("source", "broker"))
    assert seen[("portal_bus_observation_errors_total", errors)] == 1


def test_a_worker_s_metrics_add_the_observer_with_the_exposition_content_type(
    db: Database, bus_settings: BusSettings, free_port: int
) -> None:
    observer = BusObserver("test", db.sessions, bus_settings)
    with db.sessions() as session, session.begin():
        record_event(session, "test.thing.created", {})
    observer.observe()
    observer._close()
    server = serve_health(free_port, lambda: {}, registries=(observer.registry(),))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            body = r.read()
    finally:
        server.shutdown()
    assert b'portal_outbox_backlog{service="test"} 1.0' in body
    assert b"python_info" in body  # the default registry is there too


def test_unrouted_keeps_at_most_its_bound_dropping_the_oldest(
    bus_settings: BusSettings,
    names: Names,
    amqp_channel: BlockingChannel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(topology.UNROUTED_ARGUMENTS, "x-max-length", 3)
    declare_exchanges(amqp_channel, names)
    amqp_channel.confirm_delivery()
    for i in range(5):
        publish(amqp_channel, names.events_exchange, "nobody.listens", json.dumps(i).encode())
    unrouted = f"{names.namespace}portal.unrouted"
    assert amqp_channel.queue_declare(unrouted, passive=True).method.message_count == 3
    method, _, body = amqp_channel.basic_get(unrouted, auto_ack=True)
    assert method is not None and json.loads(body) == 2  # 0 and 1 were dropped


def test_an_unrouted_queue_declared_before_the_bound_is_kept_not_refused(
    bus_settings: BusSettings,
    names: Names,
    amqp_channel: BlockingChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    unrouted = f"{names.namespace}portal.unrouted"
    amqp_channel.queue_declare(
        unrouted,
        durable=True,
        arguments={"x-queue-type": "quorum", "x-message-ttl": topology.UNROUTED_TTL_MS},
    )
    declare_exchanges(amqp_channel, names)  # no PRECONDITION_FAILED
    assert amqp_channel.is_open
    assert "without its length bound" in caplog.text


@pytest.mark.parametrize("action", [["list"], ["replay"]])
def test_dlq_commands_for_a_service_without_a_dlq_answer_in_one_line(
    action: list[str],
    bus_settings: BusSettings,
    names: Names,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AMQP_URL", bus_settings.amqp_url)
    monkeypatch.setenv("BUS_NAMESPACE", bus_settings.namespace)
    assert portal(["dlq", *action, "identity"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("portal: identity has no dead-letter queue")
    assert "Traceback" not in captured.err


def test_dlq_commands_say_in_one_line_when_the_broker_is_away(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://guest:guest@127.0.0.1:1/")
    assert portal(["dlq", "list", "notify"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("portal: the broker cannot be reached")
