"""The worker on the real broker: command in, notifications out, events on portal.events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import func, select

from deploy.simulators.sms_gateway import SmsGatewaySimulator
from services.core.bus import (
    Consumer,
    Envelope,
    Names,
    OutboxRelay,
    connection_parameters,
    declare_exchanges,
)
from services.core.config import BusSettings, ServiceSettings
from services.core.service import ServiceDatabase
from services.notify.config import NotifySettings
from services.notify.context import build_context
from services.notify.dispatcher import Dispatcher
from services.notify.events import build_consumer
from services.notify.models import DevOutboxMessage, InboxItem, Notification
from services.notify.providers import build_providers
from tests.notify.conftest import NotifyDb, make_command
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until


def publish(settings: BusSettings, names: Names, envelope: Envelope) -> None:
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            names.commands_exchange,
            envelope.type,
            envelope.to_body(),
            pika.BasicProperties(
                message_id=envelope.id,
                type=envelope.type,
                content_type="application/json",
                delivery_mode=2,
            ),
            mandatory=True,
        )


class Stack:
    def __init__(
        self,
        db: NotifyDb,
        bus: BusSettings,
        names: Names,
        notify_settings: NotifySettings,
        gateway_url: str | None = None,
    ) -> None:
        if gateway_url is not None:
            notify_settings = replace(
                notify_settings,
                sms_provider="http",
                sms_gateway_url=gateway_url,
                sms_gateway_api_key="test-key",
                sms_gateway_timeout=1.0,
            )
        settings = ServiceSettings(service="notify", database_url=db.url, bus=bus)
        self.dispatcher = Dispatcher(
            db.sessions, build_providers(notify_settings, db.sessions), notify_settings
        )
        ctx = build_context(
            settings, notify_settings, database=ServiceDatabase(db.engine, db.sessions)
        )
        self.consumer: Consumer = build_consumer(ctx, self.dispatcher, names=names)
        self.relay = OutboxRelay(db.sessions, bus, service="notify", names=names)
        self.waiter = HandledWaiter(self.consumer)


@pytest.fixture
def event_queue(amqp_channel: BlockingChannel, names: Names) -> Iterator[str]:
    declare_exchanges(amqp_channel, names)
    queue = amqp_channel.queue_declare("", exclusive=True).method.queue
    amqp_channel.queue_bind(queue, names.events_exchange, "notify.notification.#")
    yield queue


def drain(channel: BlockingChannel, queue: str, count: int) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []

    def take() -> bool:
        method, _props, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            received.append(json.loads(body))
        return len(received) >= count

    wait_until(take, timeout=15, what=f"{count} events")
    return received


def count(db: NotifyDb, model: type[object]) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_command_is_delivered_once_on_every_channel_and_reported(
    notify_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
    amqp_channel: BlockingChannel,
    event_queue: str,
) -> None:
    stack = Stack(notify_db, bus_settings, names, notify_settings)
    command = make_command()
    with running(stack.consumer, stack.relay, stack.dispatcher):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        publish(bus_settings, names, command)
        publish(bus_settings, names, command)  # a redelivery, as after a lost ack
        stack.waiter.wait_for(command.id, "handled")
        stack.waiter.wait_for(command.id, "duplicate")
        events = drain(amqp_channel, event_queue, 3)
    assert {e["type"] for e in events} == {"notify.notification.delivered"}
    assert {e["data"]["channel"] for e in events} == {"sms", "email", "inbox"}  # type: ignore[index]
    assert {e["causation_id"] for e in events} == {command.id}
    flat = json.dumps(events, ensure_ascii=False)
    assert "+84912345678" not in flat and "nguyenvana@example.vn" not in flat
    assert count(notify_db, Notification) == 3
    assert count(notify_db, DevOutboxMessage) == 2 and count(notify_db, InboxItem) == 1


def test_a_gateway_outage_loses_nothing(
    notify_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
    gateway: SmsGatewaySimulator,
) -> None:
    gateway.state.set_mode("fail", 2)
    settings = replace(notify_settings, retry_delays=(0.1, 0.2, 0.4))
    stack = Stack(notify_db, bus_settings, names, settings, gateway.url)
    command = make_command(channels=("sms",))
    with running(stack.consumer, stack.relay, stack.dispatcher):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        publish(bus_settings, names, command)
        stack.waiter.wait_for(command.id)

        def delivered() -> bool:
            with notify_db.sessions() as session:
                return session.scalar(select(Notification.status)) == "delivered"

        wait_until(delivered, timeout=15, what="delivered after the outage")
    assert gateway.state.requests == 3 and len(gateway.state.accepted) == 1
    with notify_db.sessions() as session:
        attempts = session.scalars(select(Notification)).one().delivery_attempts
        assert [a.outcome for a in attempts] == ["temporary", "temporary", "delivered"]


def test_a_malformed_command_goes_to_the_dead_letter_queue(
    sqlite_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
) -> None:
    stack = Stack(sqlite_db, bus_settings, names, notify_settings)
    command = make_command(personalisation={"code": "123456"})
    with running(stack.consumer, stack.relay, stack.dispatcher):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        publish(bus_settings, names, command)
        stack.waiter.wait_for(command.id, "dead_lettered")
    assert count(sqlite_db, Notification) == 0


def test_a_fresh_notification_is_sent_at_once_not_at_the_next_poll(
    sqlite_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
    gateway: SmsGatewaySimulator,
) -> None:
    settings = replace(notify_settings, poll_interval=120.0)  # the poll will not help
    stack = Stack(sqlite_db, bus_settings, names, settings, gateway.url)
    commands = [make_command(channels=("sms",), reference=f"d-{i}") for i in range(5)]
    with running(stack.consumer, stack.relay, stack.dispatcher):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        wait_until(lambda: stack.dispatcher.running, what="dispatcher running")
        for command in commands:
            publish(bus_settings, names, command)
        wait_until(lambda: len(gateway.state.accepted) == 5, timeout=10, what="5 SMS sent")
    assert {m["to"] for m in gateway.state.accepted} == {"+84912345678"}
