"""OTPs are a class of their own: own budget, first in line, failed when late; status SMS
over their cap fall back to e-mail and inbox; failed events say why."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import select

from deploy.simulators.sms_gateway import SmsGatewaySimulator
from services.core.bus import Envelope, Names, OutboxMessage
from services.core.config import BusSettings
from services.notify.config import NotifySettings
from services.notify.delivery import OTP_TEMPLATES, is_otp
from services.notify.dispatcher import Dispatcher
from services.notify.models import Notification
from services.notify.providers import HttpSmsProvider, build_providers
from tests.notify.conftest import Clock, NotifyDb, accept_command, make_command
from tests.notify.test_worker import Stack, drain, event_queue, publish  # noqa: F401
from tests.support.running import running
from tests.support.waiting import wait_until

OTP = {"code": "482913", "minutes": 5}


def accept(db: NotifyDb, envelope: Envelope, settings: NotifySettings, clock: Clock) -> list[str]:
    with db.sessions.begin() as session:
        return accept_command(session, envelope, settings, clock())


def by_channel(db: NotifyDb, command_id: str) -> dict[str, Notification]:
    with db.sessions() as session:
        rows = session.scalars(select(Notification).where(Notification.command_id == command_id))
        return {n.channel: n for n in rows}


def failed_events(db: NotifyDb) -> list[dict[str, object]]:
    with db.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "event").order_by(OutboxMessage.seq)
        )
        found = [json.loads(row.body) for row in rows]
    return [e for e in found if e["type"] == "notify.notification.failed"]


def local_dispatcher(db: NotifyDb, settings: NotifySettings, clock: Clock) -> Dispatcher:
    return Dispatcher(db.sessions, build_providers(settings, db.sessions), settings, clock=clock)


def gateway_dispatcher(
    db: NotifyDb, settings: NotifySettings, gateway: SmsGatewaySimulator, clock: Clock
) -> Dispatcher:
    providers = build_providers(settings, db.sessions)
    providers["sms"] = HttpSmsProvider(gateway.url, "test-key", timeout=0.3, sender="DVCQG")
    return Dispatcher(db.sessions, providers, settings, clock=clock)


def status_sms(reference: str = "dossier-1") -> Envelope:
    return make_command(channels=("sms",), reference=reference)


def test_every_code_template_is_an_otp_and_the_alert_is_not() -> None:
    assert {
        "otp_registration",
        "otp_login",
        "otp_phone_change",
        "otp_password_reset",
    } <= OTP_TEMPLATES
    assert not is_otp("otp_phone_changed") and not is_otp("dossier_submitted")


def test_a_citizen_who_received_ten_status_sms_still_receives_the_login_otp(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    assert notify_settings.sms_per_recipient_per_hour == 10
    for i in range(10):
        assert accept(notify_db, status_sms(f"d-{i}"), notify_settings, clock)
    otp = make_command("otp_login", ("sms",), personalisation=OTP, reference="login-1")
    [otp_id] = accept(notify_db, otp, notify_settings, clock)
    assert local_dispatcher(notify_db, notify_settings, clock).deliver(otp_id) == "delivered"
    assert failed_events(notify_db) == []


def test_otps_never_use_up_the_status_budget_and_have_their_own(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    settings = replace(
        notify_settings, sms_per_recipient_per_hour=2, otp_sms_per_recipient_per_hour=3
    )
    otps = [
        make_command("otp_login", ("sms",), personalisation=OTP, reference=f"l-{i}")
        for i in range(4)
    ]
    assert [len(accept(notify_db, c, settings, clock)) for c in otps] == [1, 1, 1, 0]
    capped = by_channel(notify_db, otps[3].id)["sms"]
    assert (capped.status, capped.failure_reason) == ("permanent-failure", "otp_hourly_cap")
    [event] = failed_events(notify_db)
    data = event["data"]
    assert isinstance(data, dict)
    assert (data["reason"], data["command_id"], data["template"]) == (
        "otp_hourly_cap",
        otps[3].id,
        "otp_login",
    )
    # Three OTPs went to this phone, yet both status SMS of the hour still go out.
    for i in range(2):
        command = status_sms(f"d-{i}")
        accept(notify_db, command, settings, clock)
        assert by_channel(notify_db, command.id)["sms"].status == "created"


def test_the_eleventh_status_sms_goes_to_email_and_inbox(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    for i in range(10):
        accept(notify_db, status_sms(f"d-{i}"), notify_settings, clock)
    eleventh = status_sms("d-10")
    ids = accept(notify_db, eleventh, notify_settings, clock)
    rows = by_channel(notify_db, eleventh.id)
    assert (rows["sms"].status, rows["sms"].failure_reason) == (
        "permanent-failure",
        "sms_hourly_cap",
    )
    assert sorted(ids) == sorted([rows["email"].id, rows["inbox"].id])
    assert rows["email"].to == "nguyenvana@example.vn" and rows["inbox"].to == "acc-1"
    dispatcher = local_dispatcher(notify_db, notify_settings, clock)
    assert [dispatcher.deliver(i) for i in ids] == ["delivered", "delivered"]
    [event] = failed_events(notify_db)
    data = event["data"]
    assert isinstance(data, dict)
    assert (data["reason"], data["command_id"], data["channel"]) == (
        "sms_hourly_cap",
        eleventh.id,
        "sms",
    )


def test_the_fallback_adds_only_the_channels_missing_and_with_an_address(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    settings = replace(notify_settings, sms_per_recipient_per_hour=0)
    with_inbox = make_command(channels=("sms", "inbox"), email=None)
    accept(notify_db, with_inbox, settings, clock)
    assert set(by_channel(notify_db, with_inbox.id)) == {"sms", "inbox"}
    anonymous = make_command(channels=("sms",), account_id=None, reference="d-2")
    accept(notify_db, anonymous, settings, clock)
    assert set(by_channel(notify_db, anonymous.id)) == {"sms", "email"}


def test_a_refused_sms_fails_with_the_reason_provider_refused(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    gateway.state.set_mode("reject", None)
    otp = make_command("otp_login", ("sms",), personalisation=OTP)
    [notification_id] = accept(notify_db, otp, notify_settings, clock)
    dispatcher = gateway_dispatcher(notify_db, notify_settings, gateway, clock)
    assert dispatcher.deliver(notification_id) == "permanent-failure"
    [event] = failed_events(notify_db)
    assert event["data"]["reason"] == "provider_refused"  # type: ignore[index]
    assert event["data"]["command_id"] == otp.id  # type: ignore[index]


def test_an_otp_not_sent_within_its_max_age_expires_without_a_provider_call(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    settings = replace(notify_settings, otp_max_age=300.0)
    otp = make_command("otp_login", ("sms",), personalisation=OTP)
    status = status_sms()
    [otp_id] = accept(notify_db, otp, settings, clock)
    [status_id] = accept(notify_db, status, settings, clock)
    clock.advance(301)  # the worker was down for five minutes
    dispatcher = gateway_dispatcher(notify_db, settings, gateway, clock)
    assert dispatcher.deliver(otp_id) == "technical-failure"
    assert dispatcher.deliver(status_id) == "delivered"  # a late status SMS is still news
    assert [m["reference"] for m in gateway.state.accepted] == [status_id]
    [event] = failed_events(notify_db)
    assert event["data"]["reason"] == "expired"  # type: ignore[index]
    assert by_channel(notify_db, otp.id)["sms"].body == ""


def test_an_otp_is_not_retried_past_its_max_age_but_a_status_sms_is(
    notify_db: NotifyDb,
    notify_settings: NotifySettings,
    clock: Clock,
    gateway: SmsGatewaySimulator,
) -> None:
    settings = replace(notify_settings, retry_delays=(10.0, 60.0, 600.0), otp_max_age=100.0)
    gateway.state.set_mode("fail", None)
    otp = make_command("otp_login", ("sms",), personalisation=OTP)
    [otp_id] = accept(notify_db, otp, settings, clock)
    [status_id] = accept(notify_db, status_sms(), settings, clock)
    dispatcher = gateway_dispatcher(notify_db, settings, gateway, clock)
    outcomes = []
    for wait in (10, 60, 600):
        outcomes.append((dispatcher.deliver(otp_id), dispatcher.deliver(status_id)))
        clock.advance(wait)
    # t0 and t10 are retried (next try at t10, t70); at t70 the next try (t670) is too late.
    assert outcomes == [
        ("temporary-failure", "temporary-failure"),
        ("temporary-failure", "temporary-failure"),
        ("technical-failure", "temporary-failure"),
    ]
    [event] = failed_events(notify_db)
    assert event["data"]["reason"] == "provider_unavailable"  # type: ignore[index]
    assert event["data"]["command_id"] == otp.id  # type: ignore[index]


def test_the_poll_lists_due_otps_before_older_status_messages(
    notify_db: NotifyDb, notify_settings: NotifySettings, clock: Clock
) -> None:
    first = accept(notify_db, status_sms("d-1"), notify_settings, clock)
    clock.advance(1)
    second = accept(notify_db, status_sms("d-2"), notify_settings, clock)
    clock.advance(1)
    otp = accept(
        notify_db, make_command("otp_login", ("sms",), personalisation=OTP), notify_settings, clock
    )
    dispatcher = Dispatcher(notify_db.sessions, {}, notify_settings, clock=clock)
    assert dispatcher.due_ids() == otp + first + second


def test_the_worker_sends_the_otp_before_the_status_sms_waiting_in_line(
    sqlite_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
    gateway: SmsGatewaySimulator,
) -> None:
    settings = replace(notify_settings, delivery_threads=1, poll_interval=120.0)
    stack = Stack(sqlite_db, bus_settings, names, settings, gateway.url)
    commands = [status_sms(f"d-{i}") for i in range(5)]
    otp = make_command("otp_login", ("sms",), personalisation=OTP, reference="login-1")
    with running(stack.consumer, stack.relay):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        for command in [*commands, otp]:
            publish(bus_settings, names, command)
        for command in [*commands, otp]:
            stack.waiter.wait_for(command.id)
    # The six SMS wait for the delivery thread; the OTP, last in, goes out first.
    with running(stack.dispatcher):
        wait_until(lambda: len(gateway.state.accepted) == 6, timeout=15, what="6 SMS sent")
    assert "482913" in gateway.state.accepted[0]["text"]


def test_on_the_broker_the_login_otp_goes_out_after_ten_status_sms_and_the_eleventh_falls_back(
    notify_db: NotifyDb,
    bus_settings: BusSettings,
    names: Names,
    notify_settings: NotifySettings,
    amqp_channel: BlockingChannel,
    event_queue: str,  # noqa: F811
) -> None:
    stack = Stack(notify_db, bus_settings, names, notify_settings)
    statuses = [status_sms(f"d-{i}") for i in range(11)]
    otp = make_command("otp_login", ("sms",), personalisation=OTP, reference="login-1")
    with running(stack.consumer, stack.relay, stack.dispatcher):
        wait_until(lambda: stack.consumer.connected, what="consumer connected")
        for command in [*statuses, otp]:
            publish(bus_settings, names, command)
        stack.waiter.wait_for(otp.id)
        # 10 SMS + the 11th's failed SMS, e-mail and inbox + the OTP
        events = drain(amqp_channel, event_queue, 14)
    by_command: dict[str, list[dict[str, object]]] = {}
    for event in events:
        data = event["data"]
        assert isinstance(data, dict)
        by_command.setdefault(str(data["command_id"]), []).append(event)
    [otp_event] = by_command[otp.id]
    assert otp_event["type"] == "notify.notification.delivered"
    eleventh: dict[tuple[object, object], Any] = {
        (e["type"], e["data"]["channel"]): e["data"]  # type: ignore[index]
        for e in by_command[statuses[10].id]
    }
    assert set(eleventh) == {
        ("notify.notification.failed", "sms"),
        ("notify.notification.delivered", "email"),
        ("notify.notification.delivered", "inbox"),
    }
    assert eleventh[("notify.notification.failed", "sms")]["reason"] == "sms_hourly_cap"
    assert "482913" not in json.dumps(events)
