"""Lost OTP phone (carrier-checked phone change) and forgotten password."""

from __future__ import annotations

from flask.testing import FlaskClient

from services.core.service import CONTEXT_KEY
from tests.identity.conftest import Carrier, Clock, IdentityDb
from tests.identity.flows import AN, API, HOA, PASSWORD, login, register, start_login

NEW_PHONE = "+84977111222"


def test_a_lost_phone_is_replaced_after_otp_and_carrier_check(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier, clock: Clock
) -> None:
    account_id = register(client, identity_db, AN)
    carrier.registry.add(
        {
            "phone": NEW_PHONE,
            "citizen_id": AN.citizen_id,
            "full_name": "nguyễn văn an",
            "date_of_birth": AN.date_of_birth,
        }
    )
    flow = start_login(client, AN.citizen_id)
    started = client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": "0977111222"})
    assert started.status_code == 202
    assert started.get_json()["otp"]["sent_to"] == "097****222"
    [otp] = identity_db.commands("otp_phone_change")
    assert otp["recipient"]["phone"] == NEW_PHONE
    done = client.post(
        f"{API}/logins/{flow['id']}/phone-change/verify",
        json={"code": identity_db.last_code(NEW_PHONE)},
    )
    assert done.status_code == 200 and done.get_json()["access_token"]
    [alert] = identity_db.commands("otp_phone_changed")
    assert alert["recipient"]["phone"] == AN.e164  # the old phone is warned
    assert alert["personalisation"]["new_phone_masked"] == "097****222"
    changed = [e for e in identity_db.events() if e["type"] == "identity.phone.changed"]
    assert changed[0]["data"] == {
        "account_id": account_id,
        "phone_masked": "097****222",
        "previous_phone_masked": "091****678",
    }
    clock.advance(61)
    assert start_login(client, AN.citizen_id)["otp_phones"] == ["097****222"]
    assert identity_db.commands("otp_login")[-1]["recipient"]["phone"] == NEW_PHONE


def test_a_new_phone_of_someone_else_is_a_subscriber_mismatch(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    register(client, identity_db, AN)
    flow = start_login(client, AN.citizen_id)
    # The carrier is asked before the new number is texted (issue 18, point 4).
    refused = client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": HOA.phone})
    assert refused.status_code == 422 and refused.get_json()["code"] == "subscriber_mismatch"
    assert identity_db.commands("otp_phone_change") == []
    assert identity_db.commands("otp_phone_changed") == []
    assert not [e for e in identity_db.events() if e["type"] == "identity.phone.changed"]
    bad = client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": "12"})
    assert bad.status_code == 422 and bad.get_json()["code"] == "validation_error"


def test_after_a_mismatch_the_right_number_works_within_the_same_login(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    """Issue 18 point 10: a mismatch at verify used to leave the step's code 'already used'."""
    register(client, identity_db, AN)
    flow = start_login(client, AN.citizen_id)
    carrier.registry.add(
        {
            "phone": NEW_PHONE,
            "citizen_id": AN.citizen_id,
            "full_name": AN.full_name,
            "date_of_birth": AN.date_of_birth,
        }
    )
    first = client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": NEW_PHONE})
    assert first.status_code == 202
    # The carrier moves the number to someone else before the code is typed.
    carrier.registry.add(
        {
            "phone": NEW_PHONE,
            "citizen_id": HOA.citizen_id,
            "full_name": HOA.full_name,
            "date_of_birth": HOA.date_of_birth,
        }
    )
    mismatch = client.post(
        f"{API}/logins/{flow['id']}/phone-change/verify",
        json={"code": identity_db.last_code(NEW_PHONE)},
    )
    assert mismatch.status_code == 422 and mismatch.get_json()["code"] == "subscriber_mismatch"
    right = "+84977333444"
    carrier.registry.add(
        {
            "phone": right,
            "citizen_id": AN.citizen_id,
            "full_name": AN.full_name,
            "date_of_birth": AN.date_of_birth,
        }
    )
    again = client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": right})
    assert again.status_code == 202, again.get_json()
    done = client.post(
        f"{API}/logins/{flow['id']}/phone-change/verify",
        json={"code": identity_db.last_code(right)},
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["access_token"]


def test_the_carrier_being_down_during_phone_change_is_safe_to_retry(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    register(client, identity_db, AN)
    carrier.registry.add(
        {
            "phone": NEW_PHONE,
            "citizen_id": AN.citizen_id,
            "full_name": AN.full_name,
            "date_of_birth": AN.date_of_birth,
        }
    )
    flow = start_login(client, AN.citizen_id)
    client.post(f"{API}/logins/{flow['id']}/phone-change", json={"phone": NEW_PHONE})
    code = identity_db.last_code(NEW_PHONE)
    app_carrier = client.application.extensions[CONTEXT_KEY].carrier
    app_carrier.base_url = "http://127.0.0.1:9"
    down = client.post(f"{API}/logins/{flow['id']}/phone-change/verify", json={"code": code})
    assert down.status_code == 503 and down.get_json()["code"] == "carrier_unavailable"
    app_carrier.base_url = carrier.url
    retried = client.post(f"{API}/logins/{flow['id']}/phone-change/verify", json={"code": code})
    assert retried.status_code == 200


def test_password_reset_answers_the_same_whether_or_not_the_account_exists(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    known = client.post(f"{API}/password-resets", json={"username": AN.citizen_id})
    unknown = client.post(f"{API}/password-resets", json={"username": "038099999999"})
    assert known.status_code == unknown.status_code == 201
    assert set(known.get_json()) == set(unknown.get_json()) == {"id", "otp"}
    assert set(known.get_json()["otp"]) == set(unknown.get_json()["otp"])
    assert "sent_to" not in known.get_json()["otp"]
    assert len(identity_db.commands("otp_password_reset")) == 1  # only the real one is sent
    guess = client.post(
        f"{API}/password-resets/{unknown.get_json()['id']}/otp/verify", json={"code": "123456"}
    )
    assert guess.status_code == 400 and guess.get_json()["attempts_left"] == 4
    early = client.post(
        f"{API}/password-resets/{unknown.get_json()['id']}/complete",
        json={"password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert early.status_code == 409 and early.get_json()["code"] == "otp_not_verified"


def test_a_reset_password_replaces_the_old_one_and_ends_old_sessions(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    old_session = login(client, identity_db, AN.citizen_id, AN.e164)
    reset = client.post(f"{API}/password-resets", json={"username": AN.citizen_id}).get_json()
    client.post(
        f"{API}/password-resets/{reset['id']}/otp/verify",
        json={"code": identity_db.last_code(AN.e164)},
    )
    weak = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": "weak", "password_confirmation": "weak"},
    )
    assert weak.status_code == 422 and weak.get_json()["code"] == "weak_password"
    new = "Doi#MatKhau2026"
    done = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": new, "password_confirmation": new},
    )
    assert done.status_code == 200
    old = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD})
    assert old.status_code == 401
    refreshed = client.post(
        f"{API}/tokens/refresh", json={"refresh_token": old_session["refresh_token"]}
    )
    assert refreshed.status_code == 401
    clock.advance(61)
    assert login(client, identity_db, AN.citizen_id, AN.e164, new)["access_token"]
