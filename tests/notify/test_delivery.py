"""Delivery on SQLite and PostgreSQL: states, attempts, retries, cap, events, redelivery."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from deploy.simulators.sms_gateway import SmsGatewaySimulator
from services.core.bus import Envelope, OutboxMessage
from services.notify.config import NotifySettings
from services.notify.delivery import CommandError, IllegalTransition, move
from services.notify.delivery import accept as accept_unflushed
from services.notify.dispatcher import Dispatcher
from services.notify.models import DevOutboxMessage, InboxItem, Notification
from services.notify.providers import HttpSmsProvider, build_providers
from tests.notify.conftest import Clock, NotifyDb, accept_command, make_command


def accept(db: NotifyDb, envelope: Envelope, settings: NotifySettings, clock: Clock) -> list[str]:
    with db.sessions.begin() as session:
        return accept_command(session, envelope, settings, clock())


def notification(db: NotifyDb, notification_id: str) -> Notification:
    with db.sessions() as session:
        found = session.get(
            Notification, notification_id, options=[selectinload(Notification.delivery_attempts)]
        )
        assert found is not None
        return found


def by_channel(db: NotifyDb, command_id: str) -> dict[str, Notification]:
    with db.sessions() as session:
        rows = session.scalars(
            select(Notification)
            .options(selectinload(Notification.delivery_attempts))
            .where(Notification.command_id == command_id)
        )
        return {n.channel: n for n in rows}


def events(db: NotifyDb) -> list[dict[str, object]]:
    with db.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "event").order_by(OutboxMessage.seq)
        )
        return [json.loads(row.body) for row in rows]


def gateway_dispatcher(
    db: NotifyDb, settings: NotifySettings, gateway: SmsGatewaySimulator, clock: Clock
) -> Dispatcher:
    providers = build_providers(settings, db.sessions)
    providers["sms"] = HttpSmsProvider(gateway.url, "test-key", timeout=0.3, sender="DVCQG")
    return Dispatcher(db.sessions, providers, settings, clock=clock)


def test_a_command_makes_one_notification_per_channel_delivered_by_the_dev_outbox(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    command = make_command()
    ids = accept(notify_db, command, notify_settings, clock)
    assert len(ids) == 3
    dispatcher = Dispatcher(
        notify_db.sessions,
        build_providers(notify_settings, notify_db.sessions),
        notify_settings,
        clock=clock,
    )
    assert [dispatcher.deliver(i) for i in ids] == ["delivered"] * 3
    assert [dispatcher.deliver(i) for i in ids] == [None] * 3  # nothing is sent twice
    rows = by_channel(notify_db, command.id)
    assert rows["sms"].to == "+84912345678" and rows["sms"].encoding == "gsm7"
    assert rows["sms"].segments == 1 and "Dang ky khai sinh" in rows["sms"].body
    assert rows["email"].to == "nguyenvana@example.vn" and rows["inbox"].to == "acc-1"
    assert all(len(n.delivery_attempts) == 1 for n in rows.values())
    with notify_db.sessions() as session:
        outbox = session.scalars(select(DevOutboxMessage).order_by(DevOutboxMessage.id)).all()
        assert {(m.channel, m.to) for m in outbox} == {
            ("sms", "+84912345678"),
            ("email", "nguyenvana@example.vn"),
        }
        inbox = session.scalars(select(InboxItem)).one()
        assert inbox.account_id == "acc-1" and inbox.subject.startswith("Hồ sơ H38.01")
    delivered = [e for e in events(notify_db) if e["type"] == "notify.notification.delivered"]
    assert len(delivered) == 3
    flat = json.dumps(delivered, ensure_ascii=False)
    assert "0912345678" not in flat and "+84912345678" not in flat
    assert "nguyenvana@" not in flat and "Đăng ký" not in flat
    assert {e["data"]["to"] for e in delivered} == {"091****678", "ng********@example.vn", None}


def test_the_same_command_twice_is_refused_by_the_unique_constraint(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    command = make_command()
    accept(notify_db, command, notify_settings, clock)
    with pytest.raises(IntegrityError):
        accept(notify_db, command, notify_settings, clock)
    with notify_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 3


def test_channels_without_an_address_are_skipped_and_recorded(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    command = make_command(phone=None, email="not-an-email")
    ids = accept(notify_db, command, notify_settings, clock)
    rows = by_channel(notify_db, command.id)
    assert ids == [rows["inbox"].id]
    assert (rows["sms"].status, rows["sms"].failure_reason) == ("skipped", "no_address")
    assert rows["email"].status == "permanent-failure"
    assert rows["email"].failure_reason == "invalid_address"
    failed = [e for e in events(notify_db) if e["type"] == "notify.notification.failed"]
    assert [e["data"]["channel"] for e in failed] == ["email"]


@pytest.mark.parametrize(
    "change",
    [
        {"template": "nope"},
        {"channels": []},
        {"channels": ["fax"]},
        {"personalisation": {"dossier_code": "X"}},
        {"recipient": "someone"},
    ],
)
def test_a_malformed_command_is_refused_whole(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock, change: dict[str, object]
) -> None:
    command = make_command()
    command = replace(command, data={**command.data, **change})
    with pytest.raises(CommandError):
        accept(notify_db, command, notify_settings, clock)


def test_otp_text_is_wiped_once_delivery_is_final(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    command = make_command("otp_login", ("sms",), personalisation={"code": "482913", "minutes": 5})
    [notification_id] = accept(notify_db, command, notify_settings, clock)
    assert "482913" in notification(notify_db, notification_id).body
    dispatcher = Dispatcher(
        notify_db.sessions,
        build_providers(notify_settings, notify_db.sessions),
        notify_settings,
        clock=clock,
    )
    assert dispatcher.deliver(notification_id) == "delivered"
    assert notification(notify_db, notification_id).body == ""
    assert "482913" not in json.dumps(events(notify_db))
    with notify_db.sessions() as session:  # the dev outbox is where developers read it
        assert "482913" in session.scalars(select(DevOutboxMessage.body)).one()


def test_the_sms_cap_per_recipient_per_hour(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    settings = replace(notify_settings, sms_per_recipient_per_hour=2)
    statuses = []
    for phone in ("0912345678", "+84912345678", "84912345678"):
        command = make_command(channels=("sms",), phone=phone)
        accept(notify_db, command, settings, clock)
        statuses.append(by_channel(notify_db, command.id)["sms"])
    assert [n.status for n in statuses] == ["created", "created", "permanent-failure"]
    assert statuses[2].failure_reason == "sms_hourly_cap"
    other = make_command(channels=("sms",), phone="0987654321")
    assert accept(notify_db, other, settings, clock)  # another number is not capped
    clock.advance(3601)
    later = make_command(channels=("sms",), phone="0912345678")
    assert accept(notify_db, later, settings, clock)  # the window moved on


def test_the_sms_cap_counts_the_commands_of_the_same_batch_before_any_flush(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    """A consumer batch adds several commands in one transaction and flushes at commit."""
    settings = replace(notify_settings, sms_per_recipient_per_hour=2)
    commands = [make_command(channels=("sms",), phone="0912345678") for _ in range(3)]
    with notify_db.sessions.begin() as session:
        sent = [accept_unflushed(session, c, settings, clock()) for c in commands]
        assert not [n for n in session.identity_map.values() if isinstance(n, Notification)]
    # The third SMS is over the cap: its e-mail and inbox fallbacks are what is sent.
    assert [len(s) for s in sent] == [1, 1, 2]
    capped = by_channel(notify_db, commands[2].id)["sms"]
    assert (capped.status, capped.failure_reason) == ("permanent-failure", "sms_hourly_cap")


def test_gateway_200_delivers_with_the_gateways_reference(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    assert dispatcher.deliver(notification_id) == "delivered"
    [sent] = gateway.state.accepted
    assert sent["to"] == "+84912345678" and sent["reference"] == notification_id
    [attempt] = notification(notify_db, notification_id).delivery_attempts
    assert (attempt.provider, attempt.outcome) == ("http-sms", "delivered")
    assert attempt.provider_reference == sent["id"]


def test_gateway_4xx_is_a_permanent_failure_without_retry(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    gateway.state.set_mode("reject", None)
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    assert dispatcher.deliver(notification_id) == "permanent-failure"
    clock.advance(3600)
    assert dispatcher.due_ids() == []
    found = notification(notify_db, notification_id)
    assert found.failure_reason == "provider_rejected" and found.attempts == 1
    assert found.delivery_attempts[0].error == "gateway answered 400"
    [failed] = [e for e in events(notify_db) if e["type"] == "notify.notification.failed"]
    assert failed["data"]["status"] == "permanent-failure"


def test_gateway_5xx_and_timeouts_retry_on_the_growing_schedule_then_deliver(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    # delays (10 s, 60 s): attempt 1 at t0, 2 at t0+10, 3 at t0+70
    gateway.state.set_mode("fail", 1)
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    assert dispatcher.deliver(notification_id) == "temporary-failure"
    found = notification(notify_db, notification_id)
    assert (found.next_attempt_at - clock.now).total_seconds() == 10
    clock.advance(9)
    assert dispatcher.due_ids() == [] and dispatcher.deliver(notification_id) is None
    clock.advance(1)
    assert dispatcher.due_ids() == [notification_id]
    gateway.state.set_mode("hang", 1)
    assert dispatcher.deliver(notification_id) == "temporary-failure"
    found = notification(notify_db, notification_id)
    assert (found.next_attempt_at - clock.now).total_seconds() == 60
    clock.advance(60)
    assert dispatcher.deliver(notification_id) == "delivered"
    found = notification(notify_db, notification_id)
    assert [a.outcome for a in found.delivery_attempts] == ["temporary", "temporary", "delivered"]
    assert found.delivery_attempts[0].error == "gateway answered 503"
    assert "timeout" in (found.delivery_attempts[1].error or "")
    assert len(gateway.state.accepted) == 1


def test_an_outage_longer_than_the_schedule_ends_in_technical_failure(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    gateway.state.set_mode("fail", None)
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    outcomes = []
    for _ in range(notify_settings.max_attempts):
        outcomes.append(dispatcher.deliver(notification_id))
        clock.advance(3600)
    assert outcomes == ["temporary-failure", "temporary-failure", "technical-failure"]
    found = notification(notify_db, notification_id)
    assert found.failure_reason == "retries_exhausted" and found.completed_at is not None
    assert dispatcher.due_ids() == []


def test_a_gateway_that_does_not_answer_at_all_is_a_temporary_failure(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    gateway.stop()
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    assert dispatcher.deliver(notification_id) == "temporary-failure"
    assert "connection error" in (
        notification(notify_db, notification_id).delivery_attempts[0].error or ""
    )


def test_a_notification_left_sending_by_a_lost_worker_is_attempted_again(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    [notification_id] = accept(notify_db, make_command(channels=("sms",)), notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    claimed = dispatcher._claim(notification_id)  # the worker dies before the gateway call
    assert claimed is not None and not isinstance(claimed, str)
    assert dispatcher.due_ids() == [] and dispatcher.recover_lost() == 0  # lease holds
    clock.advance(notify_settings.sending_lease + 1)
    assert dispatcher.recover_lost() == 1
    assert dispatcher.deliver(notification_id) == "delivered"
    found = notification(notify_db, notification_id)
    assert [a.outcome for a in found.delivery_attempts] == ["lost", "delivered"]
    assert len(gateway.state.accepted) == 1


def test_states_only_move_forward(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    [notification_id] = accept(notify_db, make_command(channels=("inbox",)), notify_settings, clock)
    found = notification(notify_db, notification_id)
    for illegal in ("delivered", "temporary-failure", "created"):
        with pytest.raises(IllegalTransition):
            move(found, illegal, clock())
    move(found, "sending", clock())
    move(found, "delivered", clock())
    for illegal in ("sending", "created", "temporary-failure", "permanent-failure"):
        with pytest.raises(IllegalTransition):
            move(found, illegal, clock())


def test_the_simulator_checks_the_api_key(gateway: SmsGatewaySimulator) -> None:
    answer = requests.post(gateway.url, json={"to": "+84912345678", "text": "x"}, timeout=2)
    assert answer.status_code == 401
