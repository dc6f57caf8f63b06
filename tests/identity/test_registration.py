"""Registration by mobile subscriber: every refusal, the OTP limits, and what is sent."""

from __future__ import annotations

import threading
import unicodedata

from flask.testing import FlaskClient
from sqlalchemy import func, select

from services.identity.context import IdentityContext
from services.identity.models import Account, Registration
from services.identity.registration import Registrations
from services.identity.worker import purge_periodically
from tests.identity.conftest import Carrier, Clock, IdentityDb
from tests.identity.flows import (
    AN,
    API,
    HOA,
    PASSWORD,
    make_citizen,
    register,
    start_registration,
)
from tests.support.waiting import wait_until


def count(db: IdentityDb, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_citizen_registers_and_gets_a_level_2_account(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    started = start_registration(client, HOA)
    assert started["otp"]["sent_to"] == "098****789"
    assert started["otp"]["resend_in"] == 60
    rid = started["id"]
    code = identity_db.last_code(HOA.e164)
    assert len(code) == 6 and code.isdigit()
    assert (
        client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": code}).status_code == 200
    )
    done = client.post(
        f"{API}/registrations/{rid}/complete",
        json={"password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert done.status_code == 201
    body = done.get_json()
    assert body["verification_level"] == 2
    with identity_db.sessions() as session:
        account = session.get(Account, body["account_id"])
        assert account is not None
        assert account.username == HOA.citizen_id and account.full_name == "Lê Thị Hoa"
        assert account.password_hash.startswith("$argon2id$")
    [event] = identity_db.events()
    assert event["type"] == "identity.account.registered"
    assert event["data"]["phone_masked"] == "098****789"
    assert event["data"]["account_id"] == body["account_id"]
    [welcome] = identity_db.commands("account_created")
    assert set(welcome["channels"]) == {"sms", "inbox", "email"}
    assert welcome["recipient"] == {
        "account_id": body["account_id"],
        "phone": HOA.e164,
        "email": "hoa@example.vn",
    }


def test_the_name_is_normalised_and_compared_without_case_or_extra_spaces(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    typed = "  " + unicodedata.normalize("NFD", "NGUYỄN   văn AN") + " "
    rid = start_registration(client, make_citizen(AN, full_name=typed))["id"]
    with identity_db.sessions() as session:
        registration = session.get(Registration, rid)
        assert registration is not None
        assert registration.full_name == unicodedata.normalize("NFC", "NGUYỄN văn AN")


def test_every_input_check_has_its_own_code_and_a_vietnamese_message(
    client: FlaskClient,
) -> None:
    cases = {
        "citizen_id_format": {"citizen_id": "12345"},
        "citizen_id_province": {"citizen_id": "003085001234"},
        "citizen_id_gender_century": {"citizen_id": "038185001234"},
        "citizen_id_birth_year": {"citizen_id": "038086001234"},
    }
    for code, change in cases.items():
        response = client.post(f"{API}/registrations", json=AN.registration(**change))
        body = response.get_json()
        assert response.status_code == 422, code
        assert body["code"] == "validation_error"
        assert body["error_codes"]["citizen_id"] == [code]
        assert body["errors"]["citizen_id"][0].startswith(("Số", "Ba", "Chữ"))
    phone = client.post(f"{API}/registrations", json=AN.registration(phone="0241234567"))
    assert phone.get_json()["error_codes"] == {"phone": ["phone_invalid"]}
    missing = client.post(f"{API}/registrations", json={"citizen_id": AN.citizen_id})
    assert missing.status_code == 422 and "full_name" in missing.get_json()["errors"]
    gender = client.post(f"{API}/registrations", json=AN.registration(gender="x"))
    assert gender.status_code == 422
    old_cmt = client.post(f"{API}/registrations", json=AN.registration(citizen_id="123456789"))
    assert old_cmt.get_json()["code"] == "subscriber_mismatch"  # valid shape, not the carrier's


def test_an_existing_citizen_id_is_told_to_reset_the_password(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    response = client.post(f"{API}/registrations", json=AN.registration())
    assert response.status_code == 409
    assert response.get_json()["code"] == "account_exists"
    assert "Quên mật khẩu" in response.get_json()["title"]


def test_the_carrier_must_list_the_phone_under_this_person(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    for change in (
        {"full_name": "Nguyễn Văn Ân"},
        {"phone": HOA.phone},
        {"date_of_birth": "1985-03-13"},
        {"phone": "0977000111"},  # unknown to the carrier
    ):
        response = client.post(f"{API}/registrations", json=AN.registration(**change))
        assert response.status_code == 422, change
        assert response.get_json()["code"] == "subscriber_mismatch"
        assert "nhà mạng" in response.get_json()["title"]
    assert count(identity_db, Registration) == 0
    assert identity_db.commands() == []


def test_an_unreachable_carrier_is_503_and_nothing_is_created(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb, carrier: Carrier
) -> None:
    identity.carrier.base_url = "http://127.0.0.1:9"  # nothing listens there
    response = client.post(f"{API}/registrations", json=AN.registration())
    assert response.status_code == 503
    assert response.get_json()["code"] == "carrier_unavailable"
    assert count(identity_db, Registration) == 0 and identity_db.commands() == []
    identity.carrier.base_url = carrier.url
    assert start_registration(client, AN)["id"]  # safe to retry


def test_resend_waits_for_the_cooldown_and_replaces_the_code(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    rid = start_registration(client, AN)["id"]
    first = identity_db.last_code(AN.e164)
    early = client.post(f"{API}/registrations/{rid}/otp/resend")
    assert early.status_code == 429
    assert early.get_json()["code"] == "otp_cooldown"
    assert 55 <= early.get_json()["retry_after"] <= 60
    assert early.headers["Retry-After"] == str(early.get_json()["retry_after"])
    clock.advance(61)
    assert client.post(f"{API}/registrations/{rid}/otp/resend").status_code == 200
    second = identity_db.last_code(AN.e164)
    if second != first:
        old = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": first})
        assert old.get_json()["code"] == "otp_invalid"
    ok = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": second})
    assert ok.status_code == 200


def test_sms_flooding_is_capped_per_phone_per_hour(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    rid = start_registration(client, AN)["id"]
    for _ in range(4):
        clock.advance(61)
        assert client.post(f"{API}/registrations/{rid}/otp/resend").status_code == 200
    clock.advance(61)
    capped = client.post(f"{API}/registrations/{rid}/otp/resend")
    assert capped.status_code == 429 and capped.get_json()["code"] == "otp_send_limit"
    assert capped.get_json()["retry_after"] > 60
    # A fresh registration for the same phone is capped as well.
    again = client.post(f"{API}/registrations", json=AN.registration())
    assert again.status_code == 429 and again.get_json()["code"] == "otp_send_limit"
    assert len(identity_db.commands("otp_registration")) == 5
    clock.advance(3600)
    assert start_registration(client, AN)["id"]  # an hour later the phone may receive again


def test_otp_brute_force_stops_at_the_cap(client: FlaskClient, identity_db: IdentityDb) -> None:
    rid = start_registration(client, AN)["id"]
    code = identity_db.last_code(AN.e164)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    lefts = []
    for _ in range(5):
        response = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": wrong})
        assert response.status_code == 400 and response.get_json()["code"] == "otp_invalid"
        lefts.append(response.get_json()["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    locked = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": code})
    assert locked.status_code == 429 and locked.get_json()["code"] == "otp_locked"
    assert locked.get_json()["retry_after"] >= 1


def test_an_expired_code_is_410(client: FlaskClient, identity_db: IdentityDb, clock: Clock) -> None:
    rid = start_registration(client, AN)["id"]
    code = identity_db.last_code(AN.e164)
    clock.advance(301)
    response = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": code})
    assert response.status_code == 410 and response.get_json()["code"] == "otp_expired"


def test_completion_needs_a_verified_otp_and_a_strong_matching_password(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    rid = start_registration(client, AN)["id"]

    def complete(password: str, confirmation: str | None = None) -> dict:
        response = client.post(
            f"{API}/registrations/{rid}/complete",
            json={"password": password, "password_confirmation": confirmation or password},
        )
        return {"status": response.status_code, **response.get_json()}

    early = complete(PASSWORD)
    assert (early["status"], early["code"]) == (409, "otp_not_verified")
    client.post(
        f"{API}/registrations/{rid}/otp/verify", json={"code": identity_db.last_code(AN.e164)}
    )
    for password, rule in [
        ("Ab1!", "too_short"),
        ("abcdefg1!", "no_uppercase"),
        ("ABCDEFG1!", "no_lowercase"),
        ("Abcdefgh!", "no_digit"),
        ("Abcdefgh1", "no_special"),
        ("X!038085001234a", "contains_personal_data"),
        ("Pw!0912345678", "contains_personal_data"),
        ("P@ssw0rd", "too_common"),
        ("Aa1!" + "x" * 130, "too_long"),
    ]:
        weak = complete(password)
        assert (weak["status"], weak["code"]) == (422, "weak_password"), password
        assert rule in weak["rules"], password
    mismatch = complete(PASSWORD, PASSWORD + "x")
    assert (mismatch["status"], mismatch["code"]) == (422, "password_mismatch")
    assert complete(PASSWORD)["status"] == 201
    again = complete(PASSWORD)
    assert again["status"] == 409


def test_unfinished_registrations_expire_and_are_purged(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    rid = start_registration(client, AN)["id"]
    clock.advance(1801)
    expired = client.post(
        f"{API}/registrations/{rid}/otp/verify", json={"code": identity_db.last_code(AN.e164)}
    )
    assert expired.status_code == 410 and expired.get_json()["code"] == "flow_expired"
    assert Registrations(identity).purge_expired() == 0  # not yet past the purge delay
    clock.advance(86400)
    assert Registrations(identity).purge_expired() == 1
    assert count(identity_db, Registration) == 0
    missing = client.post(f"{API}/registrations/{rid}/otp/resend")
    assert missing.status_code == 404


def test_bad_json_and_unknown_ids_are_problems_not_500(client: FlaskClient) -> None:
    garbage = client.post(f"{API}/registrations", data="{not json", content_type="application/json")
    assert garbage.status_code in (400, 422)
    assert garbage.content_type == "application/problem+json"
    unknown = client.post(f"{API}/registrations/nope/otp/verify", json={"code": "123456"})
    assert unknown.status_code == 404
    english = client.post(f"{API}/registrations/nope/otp/resend", headers={"Accept-Language": "en"})
    assert english.get_json()["title"] == "Not found."


def test_two_open_registrations_of_one_citizen_give_one_account(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    first = start_registration(client, AN)["id"]
    first_code = identity_db.last_code(AN.e164)
    second = start_registration(client, AN)["id"]
    second_code = identity_db.last_code(AN.e164)
    for rid, code in ((first, first_code), (second, second_code)):
        verified = client.post(f"{API}/registrations/{rid}/otp/verify", json={"code": code})
        assert verified.status_code == 200
    body = {"password": PASSWORD, "password_confirmation": PASSWORD}
    assert client.post(f"{API}/registrations/{first}/complete", json=body).status_code == 201
    late = client.post(f"{API}/registrations/{second}/complete", json=body)
    assert late.status_code == 409 and late.get_json()["code"] == "account_exists"
    assert count(identity_db, Account) == 1


def test_the_worker_purges_periodically(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    start_registration(client, AN)
    clock.advance(1801 + 86400)
    stop = threading.Event()
    purger = threading.Thread(
        target=purge_periodically, args=(Registrations(identity), 0.05, stop), daemon=True
    )
    purger.start()
    try:
        wait_until(lambda: count(identity_db, Registration) == 0, 10, what="the purge")
    finally:
        stop.set()
        purger.join(5)
    assert not purger.is_alive()
