"""Two-step login, throttling, OTP phones, tokens, refresh rotation, /me."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from services.core.auth import JwksCache, TokenVerifier
from services.core.problems import Unauthorized
from services.identity.context import IdentityContext
from tests.identity.conftest import ISSUER, Clock, IdentityDb
from tests.identity.flows import (
    AN,
    API,
    HOA,
    PASSWORD,
    bearer,
    login,
    register,
    start_login,
)


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The identity app under a real WSGI server on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_real_http_login_gives_a_token_the_shared_verifier_accepts(
    served: str, client: FlaskClient, identity_db: IdentityDb
) -> None:
    account_id = register(client, identity_db, AN)
    http = requests.Session()
    step1 = http.post(
        f"{served}{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD}
    )
    assert step1.status_code == 201
    assert step1.json()["otp_phones"] == ["091****678"]
    code = identity_db.last_code(AN.e164)
    step2 = http.post(f"{served}{API}/logins/{step1.json()['id']}/otp/verify", json={"code": code})
    assert step2.status_code == 200
    pair = step2.json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900
    jwks = http.get(f"{served}{API}/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    verifier = TokenVerifier(JwksCache(jwks=jwks), issuer=ISSUER, audience="portal")
    claims = verifier.verify(pair["access_token"])
    assert claims.sub == account_id and claims.roles == ("citizen",) and claims.loa == 2
    assert claims.name == "Nguyễn Văn An" and claims.jti
    header = jwt.get_unverified_header(pair["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"] == jwks["keys"][0]["kid"]
    assert claims.raw["exp"] - claims.raw["iat"] == 900
    # The same verifier fetching the JWKS by URL, as other services do.
    by_url = TokenVerifier(
        JwksCache(url=f"{served}{API}/.well-known/jwks.json"), issuer=ISSUER, audience="portal"
    )
    assert by_url.verify(pair["access_token"]).sub == account_id


def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    wrong = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": "Nope#1234"})
    unknown = client.post(
        f"{API}/logins", json={"username": "038099999999", "password": "Nope#1234"}
    )
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(wrong.get_json()) == strip(unknown.get_json())
    assert wrong.get_json()["code"] == "invalid_credentials"

    def timed(username: str) -> float:
        started = time.perf_counter()
        client.post(f"{API}/logins", json={"username": username, "password": "Nope#1234"})
        return time.perf_counter() - started

    # Both paths verify one argon2 hash: no order-of-magnitude difference. The fastest of
    # several tries is compared, so a busy machine's pauses do not decide the result.
    known = min(timed(AN.citizen_id) for _ in range(4))
    absent = min(timed(f"03809999999{i}") for i in range(4))
    assert absent > known / 5 and known > absent / 5


def test_failures_throttle_the_username_with_a_growing_delay_but_reset_still_works(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    register(client, identity_db, AN)
    # The delays are counted in whole seconds: a slow machine's seconds must not count.
    clock.freeze()
    for username in (AN.citizen_id, "038099999998"):
        answers = [
            client.post(f"{API}/logins", json={"username": username, "password": "Bad#pass1"})
            for _ in range(6)
        ]
        assert [a.status_code for a in answers] == [401] * 5 + [429]
        assert answers[-1].get_json()["code"] == "login_throttled"
        assert answers[-1].get_json()["retry_after"] == 30
    # Even the right password waits; after the delay one more failure doubles it.
    right = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD})
    assert right.status_code == 429
    clock.advance(31)
    client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": "Bad#pass1"})
    doubled = client.post(f"{API}/logins", json={"username": AN.citizen_id, "password": PASSWORD})
    assert doubled.get_json()["retry_after"] == 60
    # No permanent lockout: a password reset clears the throttle.
    reset = client.post(f"{API}/password-resets", json={"username": AN.citizen_id}).get_json()
    client.post(
        f"{API}/password-resets/{reset['id']}/otp/verify",
        json={"code": identity_db.last_code(AN.e164)},
    )
    new_password = "Moi#MatKhau77"
    done = client.post(
        f"{API}/password-resets/{reset['id']}/complete",
        json={"password": new_password, "password_confirmation": new_password},
    )
    assert done.status_code == 200
    clock.advance(61)
    assert login(client, identity_db, AN.citizen_id, AN.e164, new_password)["access_token"]


def test_access_log_and_me(client: FlaskClient, identity_db: IdentityDb) -> None:
    account_id = register(client, identity_db, HOA)
    client.post(
        f"{API}/logins",
        json={"username": HOA.citizen_id, "password": "Wrong#pass1"},
        headers={"User-Agent": "test-browser/1.0"},
    )
    pair = login(client, identity_db, HOA.citizen_id, HOA.e164)
    me = client.get(f"{API}/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    body = me.get_json()
    assert body["id"] == account_id and body["verification_level"] == 2
    assert body["email"] == "hoa@example.vn" and body["citizen_id"] == HOA.citizen_id
    assert body["otp_phones"] == [
        {"id": body["otp_phones"][0]["id"], "phone": "098****789", "is_default": True}
    ]
    log = client.get(f"{API}/me/access-log", headers=bearer(pair["access_token"])).get_json()
    results = [(i["method"], i["result"]) for i in log["items"]]
    assert results == [("otp", "success"), ("password", "accepted"), ("password", "failed")]
    assert log["items"][-1]["user_agent"] == "test-browser/1.0"
    assert all(i["ip"] for i in log["items"])
    assert client.get(f"{API}/me").status_code == 401


def test_forged_expired_and_foreign_tokens_are_refused(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    pair = login(client, identity_db, AN.citizen_id, AN.e164)
    good = jwt.decode(pair["access_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(pair["access_token"])["kid"]
    now = int(time.time())
    other_key = Ed25519PrivateKey.generate()
    with identity_db.sessions() as session:
        real_kid, real_key = identity.keys.signing_key(session)
    forged = {
        "another key": jwt.encode(good, other_key, algorithm="EdDSA", headers={"kid": kid}),
        "alg none": jwt.encode(good, None, algorithm="none", headers={"kid": kid}),
        "expired": jwt.encode(
            {**good, "iat": now - 1000, "exp": now - 100}, real_key, "EdDSA", {"kid": real_kid}
        ),
        "wrong audience": jwt.encode(
            {**good, "aud": "elsewhere"}, real_key, "EdDSA", {"kid": real_kid}
        ),
        "wrong issuer": jwt.encode(
            {**good, "iss": "https://evil"}, real_key, "EdDSA", {"kid": real_kid}
        ),
        "no kid": jwt.encode(good, real_key, "EdDSA"),
    }
    assert client.get(f"{API}/me", headers=bearer(pair["access_token"])).status_code == 200
    for what, token in forged.items():
        response = client.get(f"{API}/me", headers=bearer(token))
        assert response.status_code == 401, what
        assert response.get_json()["code"] == "invalid_token", what
    with pytest.raises(Unauthorized):
        identity.verifier.verify(forged["alg none"])


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(
    client: FlaskClient, identity_db: IdentityDb
) -> None:
    register(client, identity_db, AN)
    first = login(client, identity_db, AN.citizen_id, AN.e164)
    second = client.post(f"{API}/tokens/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_pair = second.get_json()
    assert second_pair["refresh_token"] != first["refresh_token"]
    assert client.get(f"{API}/me", headers=bearer(second_pair["access_token"])).status_code == 200
    # The first token is spent: presenting it again is theft, the family dies.
    reused = client.post(f"{API}/tokens/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.get_json()["code"] == "invalid_token"
    revoked = client.post(
        f"{API}/tokens/refresh", json={"refresh_token": second_pair["refresh_token"]}
    )
    assert revoked.status_code == 401
    garbage = client.post(f"{API}/tokens/refresh", json={"refresh_token": "x" * 43})
    assert garbage.status_code == 401
    # Another login is another family, untouched.
    other = login(client, identity_db, AN.citizen_id, AN.e164)
    renewed = client.post(f"{API}/tokens/refresh", json={"refresh_token": other["refresh_token"]})
    assert renewed.status_code == 200


def test_another_otp_phone_can_be_chosen_and_shared_between_accounts(
    client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    an_id = register(client, identity_db, AN)
    register(client, identity_db, HOA)
    an = login(client, identity_db, AN.citizen_id, AN.e164)
    # An adds Hoa's phone (a family member's) as a second OTP phone: allowed.
    added = client.post(
        f"{API}/me/otp-phones",
        json={"phone": HOA.phone, "password": PASSWORD},
        headers=bearer(an["access_token"]),
    )
    assert added.status_code == 202 and added.get_json()["otp"]["sent_to"] == "098****789"
    wrong = client.post(
        f"{API}/me/otp-phones/{added.get_json()['id']}/verify",
        json={"code": "000000" if identity_db.last_code(HOA.e164) != "000000" else "111111"},
        headers=bearer(an["access_token"]),
    )
    assert wrong.status_code == 400
    verified = client.post(
        f"{API}/me/otp-phones/{added.get_json()['id']}/verify",
        json={"code": identity_db.last_code(HOA.e164)},
        headers=bearer(an["access_token"]),
    )
    assert verified.status_code == 201
    phones = client.get(f"{API}/me/otp-phones", headers=bearer(an["access_token"])).get_json()
    assert [p["phone"] for p in phones["items"]] == ["091****678", "098****789"]
    clock.advance(61)
    flow = start_login(client, AN.citizen_id)
    assert flow["otp_phones"] == ["091****678", "098****789"]
    clock.advance(61)
    switched = client.post(f"{API}/logins/{flow['id']}/otp/resend", json={"phone_index": 1})
    assert switched.status_code == 200 and switched.get_json()["otp"]["sent_to"] == "098****789"
    sent = identity_db.commands("otp_login")[-1]
    assert sent["recipient"] == {"account_id": an_id, "phone": HOA.e164, "email": None}
    tokens = client.post(
        f"{API}/logins/{flow['id']}/otp/verify", json={"code": identity_db.last_code(HOA.e164)}
    )
    assert tokens.status_code == 200
    clock.advance(61)
    # Hoa's own login still goes to her phone.
    assert login(client, identity_db, HOA.citizen_id, HOA.e164)["access_token"]
    bad_index = client.post(
        f"{API}/logins/{start_login(client, AN.citizen_id)['id']}/otp/resend",
        json={"phone_index": 7},
    )
    assert bad_index.status_code in (422, 429)


def test_login_otp_refusals(client: FlaskClient, identity_db: IdentityDb, clock: Clock) -> None:
    register(client, identity_db, AN)
    flow = start_login(client, AN.citizen_id)
    code = identity_db.last_code(AN.e164)
    for _ in range(5):
        client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": "abcdef"})
    locked = client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": code})
    assert locked.status_code == 429 and locked.get_json()["code"] == "otp_locked"
    clock.advance(61)
    assert client.post(f"{API}/logins/{flow['id']}/otp/resend", json={}).status_code == 200
    fresh = identity_db.last_code(AN.e164)
    ok = client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": fresh})
    assert ok.status_code == 200
    again = client.post(f"{API}/logins/{flow['id']}/otp/verify", json={"code": fresh})
    assert again.status_code == 409
    clock.advance(61)
    late = start_login(client, AN.citizen_id)
    clock.advance(901)
    expired = client.post(
        f"{API}/logins/{late['id']}/otp/verify", json={"code": identity_db.last_code(AN.e164)}
    )
    assert expired.status_code == 410
