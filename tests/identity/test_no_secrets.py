"""No OTP code, password, token or full phone number leaves on portal.events or in logs."""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import func, select

from services.core.bus import Names, OutboxMessage, OutboxRelay, declare_exchanges
from services.core.config import BusSettings
from tests.identity.conftest import Carrier, Clock, IdentityDb
from tests.identity.flows import AN, API, HOA, PASSWORD, login, register, start_login
from tests.support.running import running
from tests.support.waiting import wait_until

NEW_PHONE = "+84977111222"
NEW_PASSWORD = "Doi#MatKhau2026"


def run_every_flow(
    client: FlaskClient, db: IdentityDb, carrier: Carrier, clock: Clock
) -> dict[str, list[str]]:
    """Registration, login, refresh, phone change and password reset; returns the secrets."""
    register(client, db, AN)
    register(client, db, HOA)
    pair = login(client, db, AN.citizen_id, AN.e164)
    refreshed = client.post(f"{API}/tokens/refresh", json={"refresh_token": pair["refresh_token"]})
    carrier.registry.add(
        {
            "phone": NEW_PHONE,
            "citizen_id": AN.citizen_id,
            "full_name": AN.full_name,
            "date_of_birth": AN.date_of_birth,
        }
    )
    clock.advance(61)
    flow = start_login(client, AN.citizen_id)
    client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": NEW_PHONE})
    changed = client.post(
        f"{API}/logins/{flow['id']}/phone-change/verify",
        json={"code": db.last_code(NEW_PHONE)},
    )
    assert changed.status_code == 200
    reset = client.post(f"{API}/password-resets", json={"username": HOA.citizen_id}).get_json()
    client.post(
        f"{API}/password-resets/{reset['id']}/otp/verify", json={"code": db.last_code(HOA.e164)}
    )
    done = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200
    codes = [c["personalisation"]["code"] for c in db.commands() if "code" in c["personalisation"]]
    assert len(codes) >= 6
    tokens = [pair["access_token"], pair["refresh_token"], refreshed.get_json()["refresh_token"]]
    phones = [AN.e164, HOA.e164, NEW_PHONE]
    phones += ["0" + p[3:] for p in phones] + [p[1:] for p in phones]
    return {
        "codes": codes,
        "passwords": [PASSWORD, NEW_PASSWORD],
        "tokens": tokens,
        "phones": phones,
    }


def test_events_carry_no_secret_or_contact_data(
    client: FlaskClient,
    identity_db: IdentityDb,
    carrier: Carrier,
    clock: Clock,
    bus_settings: BusSettings,
    names: Names,
    amqp_channel: BlockingChannel,
) -> None:
    declare_exchanges(amqp_channel, names)
    everything = f"{names.namespace}probe.events"
    amqp_channel.queue_declare(everything, exclusive=True)
    amqp_channel.queue_bind(everything, names.events_exchange, routing_key="#")
    commands = f"{names.namespace}probe.commands"
    amqp_channel.queue_declare(commands, exclusive=True)
    amqp_channel.queue_bind(commands, names.commands_exchange, routing_key="notify.send")

    relay = OutboxRelay(identity_db.sessions, bus_settings, service="identity", names=names)
    with running(relay):
        secrets = run_every_flow(client, identity_db, carrier, clock)

        def all_published() -> bool:
            with identity_db.sessions() as session:
                return not session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                )

        wait_until(all_published, 20, what="every outbox row published")

    def drain(queue: str) -> list[str]:
        bodies = []
        while True:
            method, _props, body = amqp_channel.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body.decode())

    events = drain(everything)
    types = sorted(json.loads(b)["type"] for b in events)
    assert types == [
        "identity.account.registered",
        "identity.account.registered",
        "identity.phone.changed",
    ]
    for body in events:
        for secret in [s for group in secrets.values() for s in group]:
            assert secret not in body, "a secret or a full phone number is on portal.events"
        assert AN.citizen_id not in body and HOA.citizen_id not in body
    # The codes did travel, only where they must: notify.send on portal.commands.
    sent = "\n".join(drain(commands))
    assert all(code in sent for code in secrets["codes"])


def test_logs_carry_no_otp_password_or_token(
    client: FlaskClient,
    identity_db: IdentityDb,
    carrier: Carrier,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": "Wrong#Pass99"})
    secrets = run_every_flow(client, identity_db, carrier, clock)
    secrets["passwords"].append("Wrong#Pass99")
    lines = [r.getMessage() + " " + json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert lines, "the requests were logged"
    for line in lines:
        for secret in [s for group in secrets.values() for s in group]:
            assert secret not in line
