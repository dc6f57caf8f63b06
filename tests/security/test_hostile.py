"""Hostile input against an assembled portal: every trick refused with a problem, none a 5xx.

One deployment for the package (tests/security/conftest.py). Service-level
protections only; the gateway's rate limits are tested with the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pika
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from harness.journey import (
    PASSWORD,
    PortalClient,
    bearer,
    docx_bytes,
    subscribers,
)
from harness.portal import PortalDeployment
from services.core.bus import Names, connection_parameters
from services.core.config import BusSettings
from services.core.db import make_engine, make_session_factory
from services.identity.config import IdentityConfig
from services.identity.keys import KeyRing
from tests.security.conftest import MB

pytestmark = [pytest.mark.timeout(240)]
PEOPLE = subscribers()


class EventSniffer:
    """An integrator's queue bound to `#` on portal.events, collecting every body."""

    def __init__(self, amqp_url: str, namespace: str) -> None:
        self.settings = BusSettings(amqp_url=amqp_url, namespace=namespace)
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(15), "the sniffer could not bind its queue"

    def _run(self) -> None:
        names = Names(self.settings.namespace)
        with pika.BlockingConnection(connection_parameters(self.settings)) as conn:
            channel = conn.channel()
            channel.exchange_declare(names.events_exchange, passive=True)
            queue = channel.queue_declare("", exclusive=True).method.queue
            channel.queue_bind(queue, names.events_exchange, routing_key="#")
            self._ready.set()
            while not self._stop.is_set():
                method, _props, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    conn.sleep(0.05)
                    continue
                self.bodies.append(body.decode("utf-8"))

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(10)
        return self.bodies


@pytest.fixture(scope="module")
def sniffer(portal: PortalDeployment, amqp_url: str) -> Iterator[EventSniffer]:
    sniffer = EventSniffer(amqp_url, portal.namespace)
    yield sniffer
    sniffer.stop()


@pytest.fixture(scope="module")
def client(portal: PortalDeployment, sniffer: EventSniffer) -> PortalClient:
    return PortalClient(portal.gateway_url)


@pytest.fixture(scope="module")
def secrets_seen() -> dict[str, set[str]]:
    """Secrets and personal data the journey handles, to look for on portal.events."""
    return {"otp": set(), "token": set(), "phone": set(), "email": set(), "password": set()}


@pytest.fixture(scope="module")
def citizens(client: PortalClient, secrets_seen: dict[str, set[str]]) -> dict[str, Any]:
    """Two registered citizens (tokens), their agency and a prepared dossier each."""
    out: dict[str, Any] = {}
    agency = client.commune_with_officer()
    for name, person in (("a", PEOPLE[0]), ("b", PEOPLE[1])):
        client.register(person)
        pair = client.login(person.citizen_id, person.phone)
        token = pair["access_token"]
        secrets_seen["token"].update({token, pair["refresh_token"]})
        secrets_seen["phone"].update({person.phone, person.phone.removeprefix("+84")})
        secrets_seen["email"].add(f"c{person.citizen_id}@example.vn")
        out[name] = {
            "token": token,
            "person": person,
            "dossier": client.prepared_draft(token, agency, person),
        }
    secrets_seen["password"].add(PASSWORD)
    out["agency"] = agency
    for message in client.outbox(PEOPLE[0].phone) + client.outbox(PEOPLE[1].phone):
        secrets_seen["otp"].update(
            w for w in message["body"].split() if w.isdigit() and len(w) == 6
        )
    return out


def assert_problem(
    answer: requests.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.headers
    body: dict[str, Any] = answer.json()
    if code:
        assert body["code"] == code, body
    assert "Traceback" not in answer.text
    return body


# OTP and SMS ----------------------------------------------------------------------------


def test_otp_brute_force_is_locked_after_a_few_attempts(client: PortalClient) -> None:
    person = PEOPLE[2]
    started = client.post("/identity/registrations", json=person.registration())
    assert started.status_code == 201, started.text
    rid = started.json()["id"]
    real = client.next_otp(person.phone, 0)
    codes: list[int] = []
    wrong = (c for c in (f"{n:06d}" for n in range(1_000_000)) if c != real)
    for _ in range(20):
        answer = client.post(
            f"/identity/registrations/{rid}/otp/verify", json={"code": next(wrong)}
        )
        codes.append(answer.status_code)
        if answer.status_code == 429:
            assert_problem(answer, 429, "otp_locked")
            break
        assert_problem(answer, 400, "otp_invalid")
    print(f"OTP brute force: locked after {len(codes) - 1} wrong codes: {codes}")
    assert codes[-1] == 429 and len(codes) <= 6
    # Once locked, even the right code is refused.
    late = client.post(f"/identity/registrations/{rid}/otp/verify", json={"code": real})
    assert late.status_code in (410, 429), late.text


def test_sms_flooding_is_refused_with_a_cooldown(client: PortalClient) -> None:
    person = PEOPLE[3]
    started = client.post("/identity/registrations", json=person.registration())
    assert started.status_code == 201, started.text
    rid = started.json()["id"]
    refused = 0
    for _ in range(10):
        answer = client.post(f"/identity/registrations/{rid}/otp/resend")
        if answer.status_code == 429:
            body = assert_problem(answer, 429)
            assert body["code"] in ("otp_cooldown", "otp_send_limit")
            assert int(answer.headers["Retry-After"]) >= 1
            refused += 1
    # Restarting registrations for the same phone does not bypass the hourly cap.
    for _ in range(8):
        client.post("/identity/registrations", json=person.registration())
    time.sleep(1)
    sent = client.sms_count(person.phone)
    print(f"SMS flooding: 18 requests, {refused} resends refused, {sent} SMS sent")
    assert refused == 10
    assert sent <= 5


# Account enumeration -------------------------------------------------------------------


def _login_timing(
    client: PortalClient, username: str, runs: int = 5
) -> tuple[list[float], set[str]]:
    times, bodies = [], set()
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.post(
            "/identity/logins", json={"username": username, "password": "Sai#Mat1khau"}
        )
        times.append(time.perf_counter() - started)
        body = answer.json()
        bodies.add(f"{answer.status_code} {body.get('code')} {body.get('title')}")
    return times, bodies


def test_login_does_not_tell_who_has_an_account(
    client: PortalClient, citizens: dict[str, Any]
) -> None:
    known = citizens["a"]["person"].citizen_id
    # A well-formed citizen id that has no account.
    unknown = "001099012345"
    known_times, known_bodies = _login_timing(client, known)
    unknown_times, unknown_bodies = _login_timing(client, unknown)
    k, u = statistics.median(known_times), statistics.median(unknown_times)
    print(
        f"enumeration: known {k * 1000:.0f} ms {known_bodies},"
        f" unknown {u * 1000:.0f} ms {unknown_bodies}"
    )
    assert known_bodies == unknown_bodies
    assert next(iter(known_bodies)).startswith("401 invalid_credentials")
    assert abs(k - u) < max(0.1, 0.5 * max(k, u)), (k, u)


def test_password_reset_does_not_tell_who_has_an_account(
    client: PortalClient, citizens: dict[str, Any]
) -> None:
    known = client.post(
        "/identity/password-resets", json={"username": citizens["b"]["person"].citizen_id}
    )
    unknown = client.post("/identity/password-resets", json={"username": "001099012346"})
    print(f"reset: known {known.status_code}, unknown {unknown.status_code}")
    assert known.status_code == unknown.status_code
    assert set(known.json()) == set(unknown.json())


# Forged tokens --------------------------------------------------------------------------


def _identity_key(portal: PortalDeployment) -> tuple[str, ed25519.Ed25519PrivateKey]:
    engine = make_engine(f"sqlite:///{portal.base_dir / 'identity.db'}")
    ring = KeyRing(make_session_factory(engine), IdentityConfig())
    with ring.sessions() as session:
        kid, key = ring.signing_key(session)
    engine.dispose()
    return kid, key


def _claims(portal: PortalDeployment, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "name": "Kẻ giả mạo",
        "roles": ["officer", "admin"],
        "agency": "000.00.00.G06",
        "loa": 2,
        "iss": f"{portal.gateway_url}/api/identity",
        "aud": "portal",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return claims


def _hs256(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """The key-confusion attack: HMAC keyed with the public key (PyJWT will not make it)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def forged_tokens(portal: PortalDeployment) -> dict[str, str]:
    kid, real_key = _identity_key(portal)
    claims = _claims(portal)
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_ed = ed25519.Ed25519PrivateKey.generate()
    public_pem = real_key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
    return {
        "alg none": unsigned,
        "alg none, no signature dot": unsigned.rstrip("."),
        "other key, same kid": jwt.encode(
            claims, other_ed, algorithm="EdDSA", headers={"kid": kid}
        ),
        "other key, unknown kid": jwt.encode(
            claims, other_ed, algorithm="EdDSA", headers={"kid": "x"}
        ),
        "expired": jwt.encode(
            _claims(portal, exp=int(time.time()) - 60, iat=int(time.time()) - 1000),
            real_key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "wrong audience": jwt.encode(
            _claims(portal, aud="other"), real_key, algorithm="EdDSA", headers={"kid": kid}
        ),
        "wrong issuer": jwt.encode(
            _claims(portal, iss="https://evil.example/api/identity"),
            real_key,
            algorithm="EdDSA",
            headers={"kid": kid},
        ),
        "RS256 header on an EdDSA kid": jwt.encode(
            claims, other_rsa, algorithm="RS256", headers={"kid": kid}
        ),
        "HS256 with the public key as secret": _hs256(claims, public_pem, kid),
        "garbage": "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
        "not a jwt": "x" * 5000,
    }


def test_forged_tokens_are_401_everywhere(portal: PortalDeployment, client: PortalClient) -> None:
    targets = {
        "gateway dossiers": f"{portal.gateway_url}/api/dossiers",
        "dossier service": f"{portal.service_url('dossier')}/api/dossiers",
        "identity me": f"{portal.service_url('identity')}/api/identity/me",
        "notify inbox": f"{portal.service_url('notify')}/api/notify/inbox",
    }
    tokens = forged_tokens(portal)
    # The control: the real key with good claims is accepted, so the refusals mean something.
    kid, key = _identity_key(portal)
    good = jwt.encode(
        _claims(portal, roles=["citizen"]), key, algorithm="EdDSA", headers={"kid": kid}
    )
    assert (
        requests.get(targets["dossier service"], headers=bearer(good), timeout=10).status_code
        == 200
    )
    failures = []
    for name, token in tokens.items():
        for target, url in targets.items():
            answer = requests.get(url, headers=bearer(token), timeout=10)
            if answer.status_code != 401 or not answer.headers.get("Content-Type", "").startswith(
                "application/problem+json"
            ):
                failures.append(f"{name} at {target}: {answer.status_code} {answer.text[:120]}")
    print(f"forged tokens: {len(tokens)} kinds x {len(targets)} targets, failures: {failures}")
    assert not failures


# Access to others' dossiers --------------------------------------------------------------


def test_a_citizen_cannot_read_or_act_on_another_citizens_dossier(
    client: PortalClient, citizens: dict[str, Any]
) -> None:
    mine = citizens["a"]["dossier"]
    thief = bearer(citizens["b"]["token"])
    attempts = {
        "read": client.get(f"/dossiers/{mine}", headers=thief),
        "fill": client.patch(
            f"/dossiers/{mine}", json={"delivery": {"method": "counter"}}, headers=thief
        ),
        "attach": client.attach(citizens["b"]["token"], mine, "giay-to-tuy-than"),
        "submit": client.post(f"/dossiers/{mine}/submit", headers=thief),
        "rate": client.post(f"/dossiers/{mine}/rating", json={"score": 1}, headers=thief),
        "receive": client.post(f"/dossiers/{mine}/receive", headers=thief),
    }
    listing = client.get("/dossiers", headers=thief).json()
    print("other citizen:", {k: v.status_code for k, v in attempts.items()})
    for name, answer in attempts.items():
        assert answer.status_code in (403, 404), (name, answer.text)
        assert mine not in answer.text
    for name in ("read", "fill", "attach", "submit", "rate"):
        assert_problem(attempts[name], 404)
    assert mine not in json.dumps(listing)


def test_an_officer_cannot_touch_a_dossier_outside_their_agency(
    client: PortalClient, citizens: dict[str, Any]
) -> None:
    token = citizens["a"]["token"]
    dossier = client.prepared_draft(token, citizens["agency"], citizens["a"]["person"])
    assert client.submit(token, dossier).status_code == 200
    outsider = bearer(client.officer_token("000.00.00.G06"))
    attempts = {
        "read": client.get(f"/dossiers/{dossier}", headers=outsider),
        "receive": client.post(f"/dossiers/{dossier}/receive", headers=outsider),
        "reject": client.post(
            f"/dossiers/{dossier}/reject", json={"reason": "không"}, headers=outsider
        ),
    }
    listing = client.get("/dossiers", headers=outsider).json()
    print("officer outside agency:", {k: v.status_code for k, v in attempts.items()})
    for answer in attempts.values():
        assert_problem(answer, 404)
    assert dossier not in json.dumps(listing)
    own = bearer(client.officer_token(citizens["agency"]))
    assert client.post(f"/dossiers/{dossier}/receive", headers=own).status_code == 200


# Uploads and bodies ------------------------------------------------------------------------


def test_uploads_that_lie_about_their_type_are_refused(
    client: PortalClient, citizens: dict[str, Any]
) -> None:
    token, dossier = citizens["b"]["token"], citizens["b"]["dossier"]
    lies = {
        "exe named .pdf": (b"MZ\x90\x00" + b"\x00" * 200, "to-khai.pdf", "application/pdf"),
        "html named .png": (b"<html><script>alert(1)</script></html>", "anh.png", "image/png"),
        "pdf called image/png": (b"%PDF-1.7\n%%EOF\n", "anh.png", "image/png"),
        "zip named .docx": (
            b"PK\x03\x04" + b"\x00" * 100,
            "to-khai.docx",
            "application/vnd.openxmlformats",
        ),
        "svg": (
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "a.svg",
            "image/svg+xml",
        ),
        "empty": (b"", "rong.pdf", "application/pdf"),
    }
    outcomes = {}
    for name, (data, filename, ctype) in lies.items():
        answer = client.attach(token, dossier, "giay-to-tuy-than", data, filename, ctype)
        outcomes[name] = answer.status_code
        if answer.status_code == 201:
            # Accepted only when the content really is what it is stored as.
            assert answer.json()["content_type"] in ("application/pdf", "image/png"), (
                name,
                answer.text,
            )
            assert name == "pdf called image/png", (name, answer.text)
        else:
            assert_problem(answer, answer.status_code)
            assert 400 <= answer.status_code < 500
    print("lying uploads:", outcomes)
    ok = client.attach(
        token, dossier, "giay-to-tuy-than", docx_bytes(), "x.docx", "application/octet-stream"
    )
    assert ok.status_code == 201, ok.text


def test_path_traversal_in_a_file_name_stays_a_name(
    portal: PortalDeployment, client: PortalClient, citizens: dict[str, Any]
) -> None:
    token, dossier = citizens["b"]["token"], citizens["b"]["dossier"]
    names = [
        "../../../../etc/passwd.pdf",
        "..\\..\\windows\\win.ini.pdf",
        "/tmp/abs.pdf",
        "a\x00b.pdf",
    ]
    for name in names:
        answer = client.attach(token, dossier, "giay-to-tuy-than", name=name)
        assert answer.status_code in (201, 422), answer.text
        if answer.status_code == 201:
            stored = answer.json()["name"]
            assert "/" not in stored and "\\" not in stored and "\x00" not in stored, stored
            fetched = client.get(
                f"/dossiers/{dossier}/attachments/{answer.json()['id']}", headers=bearer(token)
            )
            assert fetched.status_code == 200
            assert (
                "/" not in fetched.headers.get("Content-Disposition", "").split("filename", 1)[-1]
            )
    blobs = portal.base_dir / "blobs"
    outside = [p for p in portal.base_dir.parent.rglob("*passwd*")] + list(
        Path("/tmp").glob("abs.pdf")
    )
    print(f"path traversal: {len(names)} names, files outside the blob store: {outside}")
    assert not outside and blobs.exists()


def test_oversize_bodies_are_413(
    portal: PortalDeployment, client: PortalClient, citizens: dict[str, Any]
) -> None:
    token, dossier = citizens["b"]["token"], citizens["b"]["dossier"]
    big_file = client.attach(token, dossier, "giay-to-tuy-than", b"%PDF-1.7\n" + b"0" * (MB + 10))
    assert big_file.status_code in (413, 422), big_file.text
    assert_problem(big_file, big_file.status_code)
    huge = b"%PDF-1.7\n" + b"0" * (4 * MB)
    for url in (
        f"{portal.service_url('dossier')}/api/dossiers/{dossier}/attachments",
        f"{portal.service_url('dossier')}/api/dossiers/{dossier}",
    ):
        answer = requests.post(
            url,
            data=huge,
            headers={**bearer(token), "Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code in (405, 413), (url, answer.status_code)
    big_json = json.dumps({"username": "0" * (2 * MB), "password": "x"})
    for service, path in (
        ("identity", "/api/identity/logins"),
        ("dossier", "/api/dossiers"),
        ("catalog", "/api/catalog/procedures"),
    ):
        answer = requests.post(
            f"{portal.service_url(service)}{path}",
            data=big_json,
            headers={**bearer(token), "Content-Type": "application/json"},
            timeout=30,
        )
        print(f"oversize JSON to {service}: {answer.status_code}")
        assert answer.status_code in (401, 403, 405, 413), (
            service,
            answer.status_code,
            answer.text[:200],
        )
        assert answer.status_code < 500
    deep = "[" * 100_000 + "]" * 100_000
    answer = requests.post(
        f"{portal.service_url('identity')}/api/identity/logins",
        data=deep,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    print(f"deeply nested JSON: {answer.status_code}")
    assert 400 <= answer.status_code < 500


# Injection ---------------------------------------------------------------------------------


INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE procedures; --",
    "%",
    "_",
    "\\",
    '" OR ""="',
    "1) UNION SELECT sql FROM sqlite_master --",
    "khai sinh\x00",
    '{"$gt": ""}',
    "𝕏" * 300,
]


def test_injection_in_search_is_just_text(
    portal: PortalDeployment, client: PortalClient, citizens: dict[str, Any]
) -> None:
    total = client.get("/catalog/procedures", params={"per_page": 1}).json()["total"]
    statuses = {}
    for value in INJECTIONS:
        for params in (
            {"q": value},
            {"agency": value},
            {"field": value},
            {"page": value},
            {"province": value},
        ):
            answer = client.get("/catalog/procedures", params=params)
            statuses[f"{next(iter(params))}={value[:20]!r}"] = answer.status_code
            assert answer.status_code in (200, 400, 422), (
                params,
                answer.status_code,
                answer.text[:200],
            )
            # A value with no letter or digit folds to an empty query (everything).
            if answer.status_code == 200 and any(ch.isalnum() for ch in value):
                assert answer.json()["total"] < total, (
                    params,
                    answer.json()["total"],
                )
        for params in ({"status": value}, {"page": value}):
            answer = client.get("/dossiers", params=params, headers=bearer(citizens["a"]["token"]))
            assert answer.status_code in (200, 400, 422), (params, answer.status_code)
        answer = client.get("/dossiers/lookup", params={"code": value})
        assert answer.status_code in (404, 422, 429), (value, answer.status_code)
    assert client.get("/catalog/procedures", params={"q": "khai sinh"}).json()["total"] > 0
    print(
        f"injection: {len(statuses)} catalogue searches, statuses {sorted(set(statuses.values()))}"
    )


def test_json_of_the_wrong_shape_is_a_validation_problem(
    portal: PortalDeployment, client: PortalClient, citizens: dict[str, Any]
) -> None:
    bodies: list[Any] = [
        {"username": {"$gt": ""}, "password": {"$ne": None}},
        {"username": ["038085001234"], "password": True},
        [],
        "a string",
        None,
        {"username": "038085001234", "password": "x", "__proto__": {"admin": True}},
    ]
    for body in bodies:
        answer = client.post("/identity/logins", json=body)
        assert answer.status_code in (401, 422), (body, answer.text)
        assert_problem(answer, answer.status_code)
    token, dossier = citizens["b"]["token"], citizens["b"]["dossier"]
    for body in (
        {"form": "not an object"},
        {"applicant": [1, 2]},
        {"delivery": {"method": {"$ne": 1}}},
    ):
        answer = client.patch(f"/dossiers/{dossier}", json=body, headers=bearer(token))
        assert_problem(answer, 422)
    stats = client.get(
        "/dossiers/stats", params={"from": "9999-12-31", "to": "0001-01-01"}, headers=bearer(token)
    )
    assert stats.status_code < 500, stats.text


# The bus -----------------------------------------------------------------------------------


def test_zz_no_secret_or_contact_data_on_portal_events(
    portal: PortalDeployment,
    client: PortalClient,
    citizens: dict[str, Any],
    sniffer: EventSniffer,
    secrets_seen: dict[str, set[str]],
) -> None:
    """Runs last in the module: the sniffer has listened to the whole journey."""
    token, person = citizens["a"]["token"], citizens["a"]["person"]
    dossier = client.prepared_draft(token, citizens["agency"], person)
    assert client.submit(token, dossier).status_code == 200
    officer = bearer(client.officer_token(citizens["agency"]))
    assert client.post(f"/dossiers/{dossier}/receive", headers=officer).status_code == 200
    assert (
        client.post(
            f"/dossiers/{dossier}/return-result", json={"note": "Đã xong"}, headers=officer
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/dossiers/{dossier}/rating", json={"score": 5}, headers=bearer(token)
        ).status_code
        == 200
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any('"dossier.rated"' in b for b in sniffer.bodies):
        time.sleep(0.2)
    for phone in {m["to"] for p in PEOPLE[:4] for m in client.outbox(p.phone)}:
        secrets_seen["phone"].add(phone)
    for p in PEOPLE[:4]:
        for message in client.outbox(p.phone):
            secrets_seen["otp"].update(
                w.strip(".,")
                for w in message["body"].split()
                if w.strip(".,").isdigit() and len(w.strip(".,")) == 6
            )
    bodies = list(sniffer.bodies)
    types = sorted({json.loads(b)["type"] for b in bodies})
    leaks = [
        (kind, value, body[:200])
        for body in bodies
        for kind, values in secrets_seen.items()
        for value in values
        if value and re.search(rf"(?<![0-9]){re.escape(value)}(?![0-9])", body)
    ]
    print(f"portal.events: {len(bodies)} events of {len(types)} types {types}; leaks: {leaks}")
    assert "dossier.submitted" in types and "identity.account.registered" in types
    assert not leaks
