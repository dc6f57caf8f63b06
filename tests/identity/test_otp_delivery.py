"""OTP delivery, with the real broker: notify's outcome events reach the OTP's flow state.

identity stores the `notify.send` command id on the challenge; its worker's consumer
sets the delivery pending -> delivered | failed; the page follows GET .../otp.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import (
    BusBase,
    Names,
    OutboxContext,
    OutboxMessage,
    OutboxRelay,
    record_event,
)
from services.core.config import BusSettings
from services.core.db import make_engine, make_session_factory
from services.core.service import CONTEXT_KEY, ServiceDatabase
from services.identity.app import create_app
from services.identity.config import IdentityConfig
from services.identity.context import build_context
from services.identity.events import build_consumer
from tests.identity.conftest import Clock, IdentityDb, make_settings
from tests.identity.flows import AN, API, register, start_login
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until


def _command_ids(db: IdentityDb, template: str) -> list[str]:
    with db.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.type == "notify.send")
            .order_by(OutboxMessage.seq)
        ).all()
    bodies = [json.loads(r.body) for r in rows]
    return [b["id"] for b in bodies if b["data"]["template"] == template]


def _fake_notify(tmp_path: Path) -> sessionmaker[Session]:
    """A database of its own whose outbox plays notify publishing its outcomes."""
    engine = make_engine(f"sqlite:///{tmp_path / 'notify.db'}")
    BusBase.metadata.create_all(engine)
    return make_session_factory(engine, outbox=OutboxContext(source="notify"))


def _outcome(
    notify: sessionmaker[Session], command_id: str, delivered: bool, reason: str | None = None
) -> str:
    data: dict[str, Any] = {
        "notification_id": "n-1",
        "command_id": command_id,
        "reference": "r",
        "template": "otp_login",
        "channel": "sms",
        "status": "delivered" if delivered else "permanent-failure",
    }
    if reason:
        data["reason"] = reason
    kind = "delivered" if delivered else "failed"
    with notify() as session, session.begin():
        return record_event(session, f"notify.notification.{kind}", data, subject="r").id


def test_a_failed_delivery_is_told_and_may_be_resent_at_once(
    identity_db: IdentityDb,
    config: IdentityConfig,
    clock: Clock,
    bus_settings: BusSettings,
    names: Names,
    tmp_path: Path,
) -> None:
    settings = make_settings(identity_db, bus_settings)
    database = ServiceDatabase(identity_db.engine, identity_db.sessions)
    app: Flask = create_app(build_context(settings, config, database=database, clock=clock))
    client: FlaskClient = app.test_client()
    register(client, identity_db, AN)
    flow = start_login(client, AN.citizen_id)
    assert flow["otp"]["delivery"] == "pending"
    assert "problem" not in flow
    [login_command] = _command_ids(identity_db, "otp_login")

    consumer = build_consumer(app.extensions[CONTEXT_KEY])
    waiter = HandledWaiter(consumer)
    notify = _fake_notify(tmp_path)
    relay = OutboxRelay(notify, bus_settings, service="notify")
    with running(consumer):
        wait_until(lambda: consumer.connected, 10, what="identity's consumer")
        with running(relay):
            # Someone else's outcome is acknowledged and changes nothing.
            stranger = _outcome(notify, "not-one-of-ours", delivered=False, reason="x")
            failed = _outcome(notify, login_command, delivered=False, reason="sms_hourly_cap")
            waiter.wait_for_all([stranger, failed], timeout=20)

            state = client.get(f"{API}/logins/{flow['id']}/otp")
            assert state.status_code == 200
            body = state.get_json()
            assert body["otp"]["delivery"] == "failed"
            assert body["otp"]["sent_to"] == "091****678"
            assert body["problem"]["code"] == "otp_not_delivered"
            assert body["problem"]["title"] == "Không gửi được mã OTP"
            assert "Gửi lại OTP" in body["problem"]["detail"]
            english = client.get(
                f"{API}/logins/{flow['id']}/otp", headers={"Accept-Language": "en"}
            ).get_json()
            assert english["problem"]["title"] == "The OTP could not be sent"

            # The code that never arrived cannot be typed: the answer says what to do.
            code = identity_db.last_code(AN.e164)
            refused = client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": code})
            assert refused.status_code == 409
            assert refused.get_json()["code"] == "otp_not_delivered"
            assert "Gửi lại OTP" in refused.get_json()["detail"]

            # Nothing reached the person: a resend is allowed at once (no 60 s cooldown).
            resent = client.post(f"{API}/logins/{flow['id']}/otp/resend", json={})
            assert resent.status_code == 200, resent.get_json()
            assert resent.get_json()["otp"]["delivery"] == "pending"
            _, second = _command_ids(identity_db, "otp_login")
            # A late outcome of the first code changes nothing; the new one's counts.
            late = _outcome(notify, login_command, delivered=False, reason="expired")
            ok = _outcome(notify, second, delivered=True)
            waiter.wait_for_all([late, ok], timeout=20)
    state = client.get(f"{API}/logins/{flow['id']}/otp").get_json()
    assert state["otp"]["delivery"] == "delivered" and "problem" not in state
    code = identity_db.last_code(AN.e164)
    done = client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": code})
    assert done.status_code == 200 and done.get_json()["access_token"]


def test_the_new_limits_are_settings_with_safe_defaults() -> None:
    default = IdentityConfig.from_env({})
    assert default.otp_phones_per_day == 3 and default.otp_decoy_delivered_seconds == 2
    tuned = IdentityConfig.from_env(
        {"IDENTITY_OTP_PHONES_PER_DAY": "7", "IDENTITY_OTP_DECOY_DELIVERED_SECONDS": "5"}
    )
    assert tuned.otp_phones_per_day == 7 and tuned.otp_decoy_delivered_seconds == 5
