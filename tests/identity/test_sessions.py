"""Server-side logout and the account holder's sessions (issue 18, point 6)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from services.identity.sessions import device_summary, mask_ip
from tests.identity.conftest import Clock, IdentityDb
from tests.identity.flows import AN, API, HOA, PASSWORD, bearer, register, start_login

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def login_from(
    client: FlaskClient,
    db: IdentityDb,
    clock: Clock,
    username: str,
    phone: str,
    user_agent: str,
    ip: str = "203.113.10.20",
) -> dict[str, Any]:
    """A whole login from one device."""
    environ = {"REMOTE_ADDR": ip}
    flow = start_login(client, username)
    response = client.post(
        f"{API}/logins/{flow['id']}/otp/verify",
        json={"code": db.last_code(phone)},
        headers={"User-Agent": user_agent},
        environ_base=environ,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def sessions_of(client: FlaskClient, access_token: str) -> list[dict[str, Any]]:
    response = client.get(f"{API}/me/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return body["items"]  # type: ignore[no-any-return]


def test_logout_ends_the_session_and_a_later_refresh_is_refused(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    pair = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    out = client.post(
        f"{API}/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert out.status_code == 204 and out.data == b""
    refreshed = client.post(f"{API}/tokens/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401 and refreshed.get_json()["code"] == "invalid_token"
    # Logging out again is not an error.
    again = client.post(
        f"{API}/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert again.status_code == 204


def test_logout_after_a_refresh_ends_the_whole_family(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    first = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    second = client.post(f"{API}/tokens/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.get_json()
    sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
    assert sid == jwt.decode(first["access_token"], options={"verify_signature": False})["sid"]
    out = client.post(
        f"{API}/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert out.status_code == 204
    refused = client.post(f"{API}/tokens/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refused.status_code == 401


def test_logout_needs_a_bearer_and_never_ends_someone_elses_session(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    register(client, identity_db, HOA)
    an = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    hoa = login_from(client, identity_db, clock, HOA.citizen_id, HOA.e164, SAFARI_IPHONE)
    anonymous = client.post(f"{API}/logout", json={"refresh_token": an["refresh_token"]})
    assert anonymous.status_code == 401
    foreign = client.post(
        f"{API}/logout",
        json={"refresh_token": an["refresh_token"]},
        headers=bearer(hoa["access_token"]),
    )
    assert foreign.status_code == 204  # same answer as for an unknown token
    still = client.post(f"{API}/tokens/refresh", json={"refresh_token": an["refresh_token"]})
    assert still.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": 5}, {"refresh_token": "x" * 500}, [], "x", 3],
)
def test_a_bad_logout_body_is_a_422_problem(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock, body: object
) -> None:
    register(client, identity_db, AN)
    pair = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    response = client.post(f"{API}/logout", json=body, headers=bearer(pair["access_token"]))
    assert response.status_code == 422, response.get_json()
    assert response.content_type.startswith("application/problem+json")
    assert response.get_json()["code"]


def test_sessions_list_each_login_with_device_masked_ip_and_current(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    laptop = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    phone = login_from(
        client, identity_db, clock, AN.citizen_id, AN.e164, SAFARI_IPHONE, ip="14.161.5.6"
    )
    items = sessions_of(client, phone["access_token"])
    assert len(items) == 2
    newest, oldest = items
    assert newest["current"] is True and oldest["current"] is False
    assert newest["device"] == "Safari trên iPhone" and newest["ip"] == "14.161.*.*"
    assert oldest["device"] == "Chrome trên Windows" and oldest["ip"] == "203.113.*.*"
    assert newest["created_at"] and newest["last_used_at"]
    # From the laptop the other one is current.
    from_laptop = {i["id"]: i["current"] for i in sessions_of(client, laptop["access_token"])}
    assert from_laptop == {oldest["id"]: True, newest["id"]: False}
    # A refresh keeps the session and moves its last use.
    refreshed = client.post(
        f"{API}/tokens/refresh", json={"refresh_token": laptop["refresh_token"]}
    ).get_json()
    after = sessions_of(client, refreshed["access_token"])
    assert [i["id"] for i in after] == [oldest["id"], newest["id"]]
    assert after[0]["current"] and after[0]["last_used_at"] > oldest["last_used_at"]


def test_ending_another_session_revokes_only_that_one(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    laptop = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    phone = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, SAFARI_IPHONE)
    other = next(i for i in sessions_of(client, phone["access_token"]) if not i["current"])
    gone = client.delete(f"{API}/me/sessions/{other['id']}", headers=bearer(phone["access_token"]))
    assert gone.status_code == 204
    refused = client.post(f"{API}/tokens/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert refused.status_code == 401
    kept = client.post(f"{API}/tokens/refresh", json={"refresh_token": phone["refresh_token"]})
    assert kept.status_code == 200
    remaining = sessions_of(client, kept.get_json()["access_token"])
    assert [i["current"] for i in remaining] == [True]
    twice = client.delete(f"{API}/me/sessions/{other['id']}", headers=bearer(phone["access_token"]))
    assert twice.status_code == 404


def test_another_accounts_session_id_is_not_found(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    register(client, identity_db, HOA)
    an = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    hoa = login_from(client, identity_db, clock, HOA.citizen_id, HOA.e164, SAFARI_IPHONE)
    an_session = sessions_of(client, an["access_token"])[0]["id"]
    for target in (an_session, "00000000-0000-0000-0000-000000000000", "not-an-id"):
        response = client.delete(f"{API}/me/sessions/{target}", headers=bearer(hoa["access_token"]))
        assert response.status_code == 404, target
        assert response.get_json()["code"] == "not_found"
    assert (
        client.post(
            f"{API}/tokens/refresh", json={"refresh_token": an["refresh_token"]}
        ).status_code
        == 200
    )
    assert client.get(f"{API}/me/sessions").status_code == 401
    assert client.delete(f"{API}/me/sessions/{an_session}").status_code == 401


def test_a_completed_password_reset_ends_every_session(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    first = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    second = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, SAFARI_IPHONE)
    assert len(sessions_of(client, second["access_token"])) == 2
    reset = client.post(f"{API}/password-resets", json={"username": AN.citizen_id}).get_json()
    client.post(
        f"{API}/password-resets/{reset['id']}/otp/verify",
        json={"code": identity_db.last_code(AN.e164)},
    )
    new = "Doi#MatKhau2026"
    done = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": new, "password_confirmation": new},
    )
    assert done.status_code == 200, done.get_json()
    for pair in (first, second):
        refused = client.post(
            f"{API}/tokens/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refused.status_code == 401
    assert sessions_of(client, second["access_token"]) == []


@pytest.mark.parametrize(
    ("user_agent", "summary"),
    [
        (CHROME_WINDOWS, "Chrome trên Windows"),
        (SAFARI_IPHONE, "Safari trên iPhone"),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) "
            "coc_coc_browser/130.0 Chrome/124.0 Mobile Safari/537.36",
            "Cốc Cốc trên Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge trên macOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox trên Linux",
        ),
        ("curl/8.5", "Thiết bị không xác định"),
        (None, "Thiết bị không xác định"),
    ],
)
def test_device_summary(user_agent: str | None, summary: str) -> None:
    assert device_summary(user_agent) == summary


def test_ip_masking() -> None:
    assert mask_ip("203.113.10.20") == "203.113.*.*"
    assert mask_ip("2001:db8:85a3::8a2e:370:7334") == "2001:0db8:*"
    assert mask_ip("::ffff:10.1.2.3") == "10.1.*.*"
    assert mask_ip("not an ip") is None and mask_ip(None) is None


# -- changing the password ------------------------------------------------------------


def change_password(
    client: FlaskClient, access_token: str, current: str, new: str, confirmation: str | None = None
) -> Any:
    return client.post(
        f"{API}/me/password",
        json={
            "current_password": current,
            "new_password": new,
            "new_password_confirmation": new if confirmation is None else confirmation,
        },
        headers=bearer(access_token),
    )


def test_a_password_change_keeps_this_session_and_ends_every_other(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    laptop = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    phone = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, SAFARI_IPHONE)
    new = "Doi#MatKhau2026"
    changed = change_password(client, phone["access_token"], PASSWORD, new)
    assert changed.status_code == 204, changed.get_json()
    refused = client.post(f"{API}/tokens/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert refused.status_code == 401
    kept = client.post(f"{API}/tokens/refresh", json={"refresh_token": phone["refresh_token"]})
    assert kept.status_code == 200
    assert [i["current"] for i in sessions_of(client, kept.get_json()["access_token"])] == [True]
    old = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD})
    assert old.status_code == 401
    assert start_login(client, AN.citizen_id, new)["id"]


def test_a_password_change_needs_the_current_password_and_the_same_rules(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    pair = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)
    token = pair["access_token"]
    wrong = change_password(client, token, "Sai#Mat1khau", "Doi#MatKhau2026")
    assert wrong.status_code == 422
    assert wrong.get_json()["code"] == "current_password_invalid"
    assert wrong.get_json()["errors"]["current_password"] == ["Mật khẩu hiện tại không đúng."]
    for new, rule in [
        ("Nguyen#Moi2026", "contains_name"),
        ("Mat#Khau1985x", "contains_birth_date"),
        ("Aa1!aaaa", "too_predictable"),
        ("P@ssw0rd", "too_common"),
    ]:
        weak = change_password(client, token, PASSWORD, new).get_json()
        assert (weak["code"], weak["rule"]) == ("weak_password", rule), weak
        assert weak["errors"]["new_password"] and "password" not in weak["errors"]
    mismatch = change_password(client, token, PASSWORD, "Doi#MatKhau2026", "Doi#MatKhau2027")
    assert mismatch.get_json()["code"] == "password_mismatch"
    for body in ({}, {"current_password": PASSWORD}, [], "x"):
        bad = client.post(f"{API}/me/password", json=body, headers=bearer(token))
        assert bad.status_code == 422, body
    anonymous = {
        "current_password": PASSWORD,
        "new_password": "Doi#MatKhau2026",
        "new_password_confirmation": "Doi#MatKhau2026",
    }
    assert client.post(f"{API}/me/password", json=anonymous).status_code == 401
    # Nothing changed: the old password still opens a login.
    assert start_login(client, AN.citizen_id, PASSWORD)["id"]


def test_wrong_current_passwords_are_throttled_like_logins(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    token = login_from(client, identity_db, clock, AN.citizen_id, AN.e164, CHROME_WINDOWS)[
        "access_token"
    ]
    answers = [
        change_password(client, token, f"Sai#Mat{i}khau", "Doi#MatKhau2026").status_code
        for i in range(7)
    ]
    assert answers[:5] == [422] * 5 and answers[-1] == 429, answers


def test_openapi_lists_the_session_and_password_paths(client: FlaskClient) -> None:
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "post" in paths[f"{API}/logout"]
    assert "get" in paths[f"{API}/me/sessions"]
    assert "delete" in paths[f"{API}/me/sessions/{{session_id}}"]
    assert "post" in paths[f"{API}/me/password"]
