"""Issue 18 points 6 and 9 as an attacker would script them, through the gateway: a stolen
refresh token after logout, another account's session ids, guessable passwords."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from harness.journey import PortalClient, Subscriber, bearer, subscribers
from harness.portal import PortalDeployment

pytestmark = [pytest.mark.timeout(300)]
PEOPLE = subscribers()
VICTIM, ATTACKER = PEOPLE[5], PEOPLE[7]  # the package's other modules use 0-4


@pytest.fixture(scope="module")
def client(portal: PortalDeployment) -> PortalClient:
    return PortalClient(portal.gateway_url)


@pytest.fixture(scope="module")
def accounts(client: PortalClient) -> dict[str, Subscriber]:
    for person in (VICTIM, ATTACKER):
        client.register(person)
    return {"victim": VICTIM, "attacker": ATTACKER}


def refresh(client: PortalClient, token: str) -> requests.Response:
    return client.post("/identity/tokens/refresh", json={"refresh_token": token})


def test_a_refresh_token_stolen_before_logout_is_worthless_after_it(
    client: PortalClient, accounts: dict[str, Subscriber]
) -> None:
    pair: dict[str, Any] = client.login(VICTIM.citizen_id, VICTIM.phone)
    stolen = pair["refresh_token"]
    out = client.post(
        "/identity/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert out.status_code == 204, out.text
    replay = refresh(client, stolen)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_token"


def test_another_accounts_sessions_cannot_be_listed_or_ended(
    client: PortalClient, accounts: dict[str, Subscriber]
) -> None:
    victim = client.login(VICTIM.citizen_id, VICTIM.phone)
    attacker = client.login(ATTACKER.citizen_id, ATTACKER.phone)
    mine = client.get("/identity/me/sessions", headers=bearer(victim["access_token"])).json()
    target = next(i["id"] for i in mine["items"] if i["current"])
    theirs = client.get("/identity/me/sessions", headers=bearer(attacker["access_token"])).json()
    assert target not in {i["id"] for i in theirs["items"]}
    kill = client.http.delete(
        f"{client.api}/identity/me/sessions/{target}",
        headers=bearer(attacker["access_token"]),
        timeout=client.timeout,
    )
    assert kill.status_code == 404 and kill.json()["code"] == "not_found"
    # The attacker's logout with the victim's refresh token changes nothing either.
    out = client.post(
        "/identity/logout",
        json={"refresh_token": victim["refresh_token"]},
        headers=bearer(attacker["access_token"]),
    )
    assert out.status_code == 204
    assert refresh(client, victim["refresh_token"]).status_code == 200


def test_guessable_passwords_are_refused_with_the_rule_in_vietnamese(
    client: PortalClient, accounts: dict[str, Subscriber]
) -> None:
    lan = accounts["attacker"]  # Bùi Thị Lan, born 04/04/1982
    assert lan.full_name == "Bùi Thị Lan"
    seen = client.sms_count(lan.phone)
    reset = client.post("/identity/password-resets", json={"username": lan.citizen_id})
    assert reset.status_code == 201, reset.text
    rid = reset.json()["id"]
    code = client.next_otp(lan.phone, seen)
    verified = client.post(f"/identity/password-resets/{rid}/otp/verify", json={"code": code})
    assert verified.status_code == 200, verified.text
    for password, rule in [
        ("Aa1!aaaa", "too_predictable"),
        ("P@ssw0rd", "too_common"),
        ("Lan@1982", "contains_name"),
        ("Mua#Thu04041982", "contains_birth_date"),
        ("Mua#Thu" + lan.citizen_id, "contains_citizen_id"),
        ("Mua#Thu" + lan.phone.replace("+84", "0"), "contains_phone"),
    ]:
        weak = client.post(
            f"/identity/password-resets/{rid}/complete",
            json={"password": password, "password_confirmation": password},
        )
        assert weak.status_code == 422, (password, weak.text)
        body = weak.json()
        assert (body["code"], body["rule"]) == ("weak_password", rule), (password, body)
        message = body["errors"]["password"][0]
        assert message == body["detail"] and message.startswith("Mật khẩu"), body
