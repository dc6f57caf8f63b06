"""deploy/rabbitmq/definitions.json, loaded into the real broker in a throwaway vhost.

Each service user declares its real topology with only the rights the file grants; the
integrator binds its own queue to `portal.events` and receives events, and is refused on
`portal.commands` and on every commands queue.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import requests
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker

from deploy.compose_env import definitions_with_passwords
from services.core.bus import Names
from services.core.bus.topology import QueueSpec, declare_exchanges, declare_service_queues
from services.core.config import BusSettings
from services.core.contracts.catalog import PROCEDURE_EVENT_PATTERN
from services.core.contracts.notify import NOTIFY_SEND
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
NAMES = Names()
# The queues each service's worker declares, with the patterns the services register.
SERVICE_QUEUES = {
    "identity": [],
    "catalog": [QueueSpec("catalog.events", NAMES.events_exchange, (PROCEDURE_EVENT_PATTERN,))],
    "dossier": [QueueSpec("dossier.events", NAMES.events_exchange, (PROCEDURE_EVENT_PATTERN,))],
    "notify": [QueueSpec("notify.commands", NAMES.commands_exchange, (NOTIFY_SEND,))],
}


def load_definitions() -> dict[str, Any]:
    return dict(json.loads(DEFINITIONS.read_text(encoding="utf-8")))


def test_definitions_commit_no_password_and_name_the_code_s_exchanges() -> None:
    definitions = load_definitions()
    assert {u["password_hash"] for u in definitions["users"]} == {""}
    exchanges = {e["name"]: e for e in definitions["exchanges"]}
    assert exchanges[NAMES.events_exchange]["type"] == "topic"
    assert exchanges[NAMES.commands_exchange]["type"] == "direct"
    assert exchanges[NAMES.dead_letter_exchange]["type"] == "direct"
    users = {u["name"] for u in definitions["users"]}
    assert {f"portal-{s}" for s in SERVICE_QUEUES} | {"integrator"} <= users


class Broker:
    """The management API and AMQP endpoint of the test broker, in one fresh vhost."""

    def __init__(self, amqp_url: str, api: str, vhost: str, prefix: str) -> None:
        parsed = urllib.parse.urlparse(amqp_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 5672
        self.admin = (parsed.username or "guest", parsed.password or "guest")
        self.api = api
        self.vhost = vhost
        self.prefix = prefix
        self.password = uuid.uuid4().hex

    def user(self, name: str) -> str:
        return self.prefix + name

    def connect(self, user: str) -> pika.BlockingConnection:
        credentials = pika.PlainCredentials(self.user(user), self.password)
        return pika.BlockingConnection(
            pika.ConnectionParameters(self.host, self.port, self.vhost, credentials)
        )


def in_vhost(definitions: dict[str, Any], vhost: str, prefix: str) -> dict[str, Any]:
    """The same definitions in another vhost, with prefixed user names (users are global)."""
    moved: dict[str, Any] = {**definitions, "vhosts": [{"name": vhost}]}
    for key in ("permissions", "topic_permissions", "policies", "queues", "exchanges", "bindings"):
        moved[key] = [{**item, "vhost": vhost} for item in definitions.get(key, [])]
    for key in ("permissions", "topic_permissions"):
        moved[key] = [{**item, "user": prefix + item["user"]} for item in moved[key]]
    moved["users"] = [{**u, "name": prefix + u["name"]} for u in definitions["users"]]
    return moved


@pytest.fixture
def broker(amqp_url: str) -> Iterator[Broker]:
    api = os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672").rstrip("/")
    try:
        requests.get(f"{api}/api/overview", timeout=3)
    except requests.RequestException:
        message = f"the RabbitMQ management API does not answer at {api}"
        if IN_CI:
            pytest.fail(message + " (rabbitmq-plugins enable rabbitmq_management)", pytrace=False)
        pytest.skip(message)
    tag = uuid.uuid4().hex[:10]
    broker = Broker(amqp_url, api, f"ops-test-{tag}", f"t{tag}-")
    definitions = in_vhost(load_definitions(), broker.vhost, broker.prefix)
    passwords = {u["name"]: broker.password for u in definitions["users"]}
    answer = requests.post(
        f"{api}/api/definitions",
        json=definitions_with_passwords(definitions, passwords),
        auth=broker.admin,
        timeout=30,
    )
    assert answer.status_code in (200, 201, 204), answer.text
    try:
        yield broker
    finally:
        quoted = urllib.parse.quote(broker.vhost, safe="")
        requests.delete(f"{api}/api/vhosts/{quoted}", auth=broker.admin, timeout=30)
        for user in definitions["users"]:
            requests.delete(f"{api}/api/users/{user['name']}", auth=broker.admin, timeout=10)


def refused(action: Any) -> bool:
    """True when the broker answers ACCESS_REFUSED (403) to `action()`."""
    try:
        action()
    except ChannelClosedByBroker as closed:
        return bool(closed.reply_code == 403)
    return False


def publish_event(conn: pika.BlockingConnection, event_type: str) -> None:
    channel = conn.channel()
    channel.confirm_delivery()
    channel.basic_publish(NAMES.events_exchange, event_type, b"{}")


def test_each_service_declares_its_topology_with_its_own_rights(broker: Broker) -> None:
    settings = BusSettings()
    for service, queues in SERVICE_QUEUES.items():
        with broker.connect(f"portal-{service}") as conn:
            channel = conn.channel()
            declare_exchanges(channel, NAMES)
            declare_service_queues(channel, NAMES, service, queues, settings)
    with broker.connect("portal-identity") as conn:
        # A service may not take another service's work.
        assert refused(lambda: conn.channel().basic_get(NAMES.commands_queue("notify")))
        # Nor publish events in another service's name (topic permissions).
        assert refused(lambda: publish_event(conn, "dossier.submitted"))
        publish_event(conn, "identity.account.registered")


def test_integrator_reads_events_and_is_refused_everything_on_commands(broker: Broker) -> None:
    settings = BusSettings()
    with broker.connect("portal-notify") as conn:
        channel = conn.channel()
        declare_exchanges(channel, NAMES)
        declare_service_queues(channel, NAMES, "notify", SERVICE_QUEUES["notify"], settings)
    own = "integrator.dossier-audit"
    with broker.connect("integrator") as conn:
        channel = conn.channel()
        channel.queue_declare(own, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(own, NAMES.events_exchange, routing_key="dossier.*")
        assert refused(lambda: conn.channel().queue_bind(own, NAMES.commands_exchange, NOTIFY_SEND))
        assert refused(lambda: conn.channel().basic_get(NAMES.commands_queue("notify")))
        assert refused(
            lambda: conn.channel().basic_consume(NAMES.commands_queue("notify"), lambda *a: None)
        )
        assert refused(lambda: conn.channel().queue_declare("not-mine", durable=True))
        assert refused(lambda: publish_event(conn, "dossier.submitted"))
    with broker.connect("portal-dossier") as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            NAMES.events_exchange,
            "dossier.submitted",
            b'{"type": "dossier.submitted"}',
            pika.BasicProperties(delivery_mode=2),
            mandatory=True,
        )
    with broker.connect("integrator") as conn:
        method, _properties, body = conn.channel().basic_get(own, auto_ack=True)
        assert method is not None and json.loads(body)["type"] == "dossier.submitted"


def test_a_user_without_a_generated_password_cannot_log_in(broker: Broker, amqp_url: str) -> None:
    # The committed file's users have no password: an import without compose_env locks them.
    definitions = in_vhost(load_definitions(), broker.vhost, broker.prefix + "x")
    answer = requests.post(
        f"{broker.api}/api/definitions", json=definitions, auth=broker.admin, timeout=30
    )
    assert answer.status_code in (200, 201, 204), answer.text
    try:
        with pytest.raises(AMQPConnectionError):
            pika.BlockingConnection(
                pika.ConnectionParameters(
                    broker.host,
                    broker.port,
                    broker.vhost,
                    pika.PlainCredentials(broker.prefix + "xintegrator", ""),
                    connection_attempts=1,
                )
            )
    finally:
        for user in definitions["users"]:
            requests.delete(f"{broker.api}/api/users/{user['name']}", auth=broker.admin, timeout=10)
