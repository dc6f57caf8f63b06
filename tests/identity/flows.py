"""Test factories: a citizen of the demo carrier file, and the HTTP flows they go through."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from flask.testing import FlaskClient

from tests.identity.conftest import IdentityDb

API = "/api/identity"
PASSWORD = "Sao#Mai2026xy"


@dataclass(frozen=True)
class Citizen:
    citizen_id: str
    full_name: str
    date_of_birth: str
    gender: str
    phone: str  # as the citizen types it
    e164: str
    email: str | None = None

    def registration(self, **changes: Any) -> dict[str, Any]:
        body = {k: v for k, v in asdict(self).items() if k != "e164" and v is not None}
        body.update(changes)
        return body


AN = Citizen("038085001234", "Nguyễn Văn An", "1985-03-12", "male", "0912345678", "+84912345678")
HOA = Citizen(
    "038190002345",
    "Lê Thị Hoa",
    "1990-07-25",
    "female",
    "+84983456789",
    "+84983456789",
    email="hoa@example.vn",
)
MINH = Citizen("042078003456", "Trần Đức Minh", "1978-11-02", "male", "0903567890", "+84903567890")


def make_citizen(base: Citizen = AN, **changes: Any) -> Citizen:
    return replace(base, **changes)


def start_registration(client: FlaskClient, citizen: Citizen) -> dict[str, Any]:
    response = client.post(f"{API}/registrations", json=citizen.registration())
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def register(
    client: FlaskClient, db: IdentityDb, citizen: Citizen = AN, password: str = PASSWORD
) -> str:
    """The whole registration; returns the account id."""
    registration = start_registration(client, citizen)
    rid = registration["id"]
    verified = client.post(
        f"{API}/registrations/{rid}/otp/verify", json={"code": db.last_code(citizen.e164)}
    )
    assert verified.status_code == 200, verified.get_json()
    done = client.post(
        f"{API}/registrations/{rid}/complete",
        json={"password": password, "password_confirmation": password},
    )
    assert done.status_code == 201, done.get_json()
    return done.get_json()["account_id"]  # type: ignore[no-any-return]


def start_login(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(f"{API}/logins", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def login(
    client: FlaskClient, db: IdentityDb, username: str, phone: str, password: str = PASSWORD
) -> dict[str, Any]:
    """Password then OTP; returns the token pair."""
    flow = start_login(client, username, password)
    response = client.post(
        f"{API}/logins/{flow['id']}/otp/verify", json={"code": db.last_code(phone)}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
