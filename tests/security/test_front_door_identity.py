"""Issue 18 against identity, as an attacker (or a hurried citizen) would script it.

Runs on identity's own app (SQLite and PostgreSQL) with the carrier simulator: a
stranger who knows a citizen ID cannot lock the owner out nor learn that an account
exists; SMS cannot be sent to arbitrary numbers; flows do not trap people.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.identity import conftest as identity_fixtures
from tests.identity.conftest import Carrier, Clock, IdentityDb
from tests.identity.flows import (
    AN,
    API,
    HOA,
    MINH,
    PASSWORD,
    bearer,
    login,
    register,
    start_login,
)

# identity's fixtures (its app on SQLite and PostgreSQL, the carrier simulator, the clock)
identity_db = identity_fixtures.identity_db
carrier = identity_fixtures.carrier
clock = identity_fixtures.clock
config = identity_fixtures.config
app = identity_fixtures.app
client = identity_fixtures.client

UNKNOWN_ID = "038099999999"


def shape(response: TestResponse) -> tuple[Any, ...]:
    """What an observer can compare: status, code, keys (and the OTP's keys)."""
    body = response.get_json() or {}
    otp = body.get("otp") or {}
    return (
        response.status_code,
        body.get("code"),
        tuple(sorted(body)),
        tuple(sorted(otp)),
        otp.get("delivery"),
        otp.get("sent_to"),
    )


def test_a_stranger_resetting_the_password_cannot_lock_the_owner_out(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    for _ in range(8):
        answer = client.post(f"{API}/password-resets", json={"username": AN.citizen_id})
        assert answer.status_code == 201  # never 429: that would tell the ID has an account
    # The reset budget is spent (5 an hour); the capped ones sent nothing.
    assert len(identity_db.commands("otp_password_reset")) == 5
    # The owner's login has its own budget: the code goes out and works.
    tokens = login(client, identity_db, AN.citizen_id, AN.e164)
    assert tokens["access_token"]
    assert len(identity_db.commands("otp_login")) == 1


def test_known_and_unknown_ids_answer_alike_even_once_limits_are_reached(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)

    def script(username: str) -> list[tuple[Any, ...]]:
        answers = []
        # Login step 1 with a guessed password, until throttled.
        for _ in range(7):
            answers.append(
                shape(client.post(f"{API}/logins", json={"username": username, "password": "x"}))
            )
        # Password resets, past the reset budget, with resends and the flow state.
        for _ in range(7):
            started = client.post(f"{API}/password-resets", json={"username": username})
            answers.append(shape(started))
            rid = started.get_json()["id"]
            answers.append(shape(client.get(f"{API}/password-resets/{rid}/otp")))
            answers.append(shape(client.post(f"{API}/password-resets/{rid}/otp/resend")))
        clock.advance(61)
        answers.append(shape(client.post(f"{API}/password-resets/{rid}/otp/resend")))
        guess = client.post(f"{API}/password-resets/{rid}/otp/verify", json={"code": "123456"})
        answers.append(shape(guess))
        return answers

    clock.freeze()
    known = script(AN.citizen_id)
    clock.advance(3600)
    unknown = script(UNKNOWN_ID)
    assert known == unknown
    assert {a[1] for a in known} >= {"invalid_credentials", "login_throttled", "otp_cooldown"}


def test_registration_asks_the_carrier_before_telling_that_an_account_exists(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    # A stranger with the owner's ID but not the owner's carrier record learns nothing.
    probe = client.post(
        f"{API}/registrations",
        json=AN.registration(full_name="Kẻ Dò Tìm", phone=HOA.phone),
    )
    never = client.post(
        f"{API}/registrations",
        json=AN.registration(citizen_id="038085009999", full_name="Kẻ Dò Tìm", phone=HOA.phone),
    )
    assert probe.status_code == never.status_code == 422
    assert probe.get_json()["code"] == never.get_json()["code"] == "subscriber_mismatch"
    assert set(probe.get_json()) == set(never.get_json())
    # The owner, confirmed by the carrier, is told to reset the password.
    owner = client.post(f"{API}/registrations", json=AN.registration())
    assert owner.status_code == 409 and owner.get_json()["code"] == "account_exists"


def test_the_owner_whose_login_budget_is_spent_still_has_a_way_through(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    register(client, identity_db, AN)
    for _ in range(5):
        start_login(client, AN.citizen_id)
    capped = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD})
    assert capped.status_code == 201, capped.get_json()
    body = capped.get_json()
    # Nothing is claimed to be sent: the answer says so and what to do next.
    assert body["otp"]["delivery"] == "failed"
    assert body["problem"]["code"] == "otp_not_delivered"
    assert len(identity_db.commands("otp_login")) == 5
    # "Mất số điện thoại" stays open in the same flow.
    new_phone = "+84977555666"
    carrier.registry.add(
        {
            "phone": new_phone,
            "citizen_id": AN.citizen_id,
            "full_name": AN.full_name,
            "date_of_birth": AN.date_of_birth,
        }
    )
    change = client.post(f"{API}/logins/{body['id']}/phone-change", json={"phone": new_phone})
    assert change.status_code == 202
    done = client.post(
        f"{API}/logins/{body['id']}/phone-change/verify",
        json={"code": identity_db.last_code(new_phone)},
    )
    assert done.status_code == 200 and done.get_json()["access_token"]


def test_choosing_another_otp_phone_right_after_login_is_not_held_back(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    an = login(client, identity_db, AN.citizen_id, AN.e164)
    added = client.post(
        f"{API}/me/otp-phones",
        json={"phone": HOA.phone, "password": PASSWORD},
        headers=bearer(an["access_token"]),
    )
    assert added.status_code == 202, added.get_json()
    verified = client.post(
        f"{API}/me/otp-phones/{added.get_json()['id']}/verify",
        json={"code": identity_db.last_code(HOA.e164)},
        headers=bearer(an["access_token"]),
    )
    assert verified.status_code == 201
    flow = start_login(client, AN.citizen_id)
    # "Chọn phương thức xác thực khác" at once: the cooldown is the flow's, per destination.
    other = client.post(f"{API}/logins/{flow['id']}/otp/resend", json={"phone_index": 1})
    assert other.status_code == 200, other.get_json()
    assert other.get_json()["otp"]["sent_to"] == "098****789"
    again = client.post(f"{API}/logins/{flow['id']}/otp/resend", json={"phone_index": 1})
    assert again.status_code == 429 and again.get_json()["code"] == "otp_cooldown"
    done = client.post(
        f"{API}/logins/{flow['id']}/otp/verify", json={"code": identity_db.last_code(HOA.e164)}
    )
    assert done.status_code == 200


def test_otp_phones_cannot_text_arbitrary_numbers(
    client: FlaskClient, identity_db: IdentityDb, carrier: Carrier, clock: Clock
) -> None:
    register(client, identity_db, AN)
    an = login(client, identity_db, AN.citizen_id, AN.e164)
    headers = bearer(an["access_token"])
    url = f"{API}/me/otp-phones"
    sent_before = len(identity_db.commands())
    no_password = client.post(url, json={"phone": HOA.phone}, headers=headers)
    assert no_password.status_code == 422 and "password" in no_password.get_json()["errors"]
    wrong = client.post(url, json={"phone": HOA.phone, "password": "Sai#Mat2026"}, headers=headers)
    assert wrong.status_code == 403 and wrong.get_json()["code"] == "password_incorrect"
    unknown = client.post(url, json={"phone": "0977000111", "password": PASSWORD}, headers=headers)
    assert unknown.status_code == 422 and unknown.get_json()["code"] == "phone_not_subscribed"
    assert len(identity_db.commands()) == sent_before  # none of these texted anyone
    numbers = [f"+8497766600{i}" for i in range(5)]
    for number in numbers:
        carrier.registry.add(
            {
                "phone": number,
                "citizen_id": HOA.citizen_id,
                "full_name": HOA.full_name,
                "date_of_birth": HOA.date_of_birth,
            }
        )
    answers = [
        client.post(url, json={"phone": n, "password": PASSWORD}, headers=headers).status_code
        for n in numbers[:4]
    ]
    assert answers == [202, 202, 202, 429]
    capped = client.post(url, json={"phone": numbers[4], "password": PASSWORD}, headers=headers)
    assert capped.get_json()["code"] == "otp_phone_limit" and capped.get_json()["retry_after"] > 0
    assert len(identity_db.commands("otp_phone_change")) == 3
    clock.advance(86401)
    later = client.post(url, json={"phone": numbers[4], "password": PASSWORD}, headers=headers)
    assert later.status_code == 202


def test_the_existing_phone_and_email_are_warned_when_a_phone_is_added(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, HOA)
    hoa = login(client, identity_db, HOA.citizen_id, HOA.e164)
    added = client.post(
        f"{API}/me/otp-phones",
        json={"phone": AN.phone, "password": PASSWORD},
        headers=bearer(hoa["access_token"]),
    )
    assert added.status_code == 202
    verified = client.post(
        f"{API}/me/otp-phones/{added.get_json()['id']}/verify",
        json={"code": identity_db.last_code(AN.e164)},
        headers=bearer(hoa["access_token"]),
    )
    assert verified.status_code == 201
    [alert] = identity_db.commands("otp_phone_changed")
    assert alert["recipient"]["phone"] == HOA.e164
    assert alert["recipient"]["email"] == HOA.email
    assert set(alert["channels"]) == {"sms", "email", "inbox"}
    assert alert["personalisation"]["new_phone_masked"] == "091****678"


def test_a_decoy_reset_follows_the_same_delivery_states_as_a_real_one(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    clock.freeze()
    real = client.post(f"{API}/password-resets", json={"username": AN.citizen_id}).get_json()
    decoy = client.post(f"{API}/password-resets", json={"username": UNKNOWN_ID}).get_json()
    assert real["otp"]["delivery"] == decoy["otp"]["delivery"] == "pending"
    first = [client.get(f"{API}/password-resets/{f['id']}/otp") for f in (real, decoy)]
    assert shape(first[0]) == shape(first[1])
    assert "sent_to" not in first[1].get_json()["otp"]
    clock.advance(5)
    later = client.get(f"{API}/password-resets/{decoy['id']}/otp").get_json()
    assert later["otp"]["delivery"] == "delivered"  # as a real SMS would be reported


def test_phone_change_answers_alike_for_any_number_not_the_owners(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    register(client, identity_db, HOA)
    flow = start_login(client, AN.citizen_id)
    url = f"{API}/logins/{flow['id']}/phone-change"
    # A number with an account (Hoa's), one the carrier lists without an account, and
    # one it does not know: the same answer, again and again past any budget.
    answers = {
        number: [shape(client.post(url, json={"phone": number})) for _ in range(7)]
        for number in (HOA.phone, MINH.phone, "0977000111")
    }
    first = answers[HOA.phone][0]
    assert first[:2] == (422, "subscriber_mismatch")
    assert all(a == first for seq in answers.values() for a in seq)
    assert identity_db.commands("otp_phone_change") == []  # nobody was texted
