"""Operator commands, run as `python -m services.identity.manage ...` would run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.core.auth import JwksCache, TokenVerifier
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase
from services.identity.app import create_app
from services.identity.config import IdentityConfig
from services.identity.context import build_context
from services.identity.manage import main
from services.identity.staff import DEMO_STAFF
from tests.identity.conftest import ISSUER, Carrier, IdentityDb

API = "/api/identity"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier: Carrier) -> str:
    url = f"sqlite:///{tmp_path}/manage.db"
    for name, value in {
        "IDENTITY_DATABASE_URL": url,
        "IDENTITY_ARGON2_TIME_COST": "1",
        "IDENTITY_ARGON2_MEMORY_KIB": "64",
        "TOKEN_ISSUER": ISSUER,
        "CARRIER_REGISTRY_URL": carrier.url,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["migrate"]) == 0
    return url


def staff_client() -> FlaskClient:
    settings = ServiceSettings.from_env("identity")
    return create_app(
        build_context(settings, IdentityConfig.from_env(), database=ServiceDatabase.open(settings))
    ).test_client()


def test_staff_are_created_by_command_and_log_in_with_their_agency(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "create-staff",
        "--username",
        "canbo.test",
        "--password",
        "CanBo#Test2026",
        "--phone",
        "0911000009",
        "--agency",
        "000.00.38.H56",
        "--role",
        "officer",
        "--full-name",
        "Lê Thị Cán Bộ",
    ]
    assert main(args) == 0
    account_id = capsys.readouterr().out.strip()
    assert main(args) == 2  # already exists
    weak = [a.replace("canbo.test", "canbo.other").replace("CanBo#Test2026", "short") for a in args]
    assert main(weak) == 2
    assert "too_short" in capsys.readouterr().err
    client = staff_client()
    flow = client.post(
        f"{API}/logins", json={"username": "canbo.test", "password": "CanBo#Test2026"}
    ).get_json()
    settings = ServiceSettings.from_env("identity")
    db = IdentityDb(settings.database_url, *_open(settings), kind="sqlite")
    pair = client.post(
        f"{API}/logins/{flow['id']}/otp/verify", json={"code": db.last_code("+84911000009")}
    ).get_json()
    jwks = client.get(f"{API}/.well-known/jwks.json").get_json()
    claims = TokenVerifier(JwksCache(jwks=jwks), issuer=ISSUER).verify(pair["access_token"])
    assert claims.sub == account_id
    assert claims.roles == ("officer",) and claims.agency == "000.00.38.H56"


def _open(settings: ServiceSettings) -> tuple:
    database = ServiceDatabase.open(settings)
    return database.engine, database.sessions


def test_load_demo_is_idempotent_and_rotate_keys_adds_a_key(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = len(DEMO_STAFF.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert staff >= 4  # one admin and at least three officers
    assert main(["load-demo"]) == 0
    assert f"{staff} staff created" in capsys.readouterr().err
    assert main(["load-demo"]) == 0
    assert f"0 staff created, {staff} already there" in capsys.readouterr().err
    assert main(["rotate-keys"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["rotate-keys"]) == 0
    second = capsys.readouterr().out.strip()
    keys = staff_client().get(f"{API}/.well-known/jwks.json").get_json()["keys"]
    assert {k["kid"] for k in keys} == {first, second}
    assert main(["purge-expired"]) == 0


def test_production_refuses_dev_secrets_and_weak_argon2() -> None:
    from services.core.config import ConfigError

    with pytest.raises(ConfigError):
        IdentityConfig.from_env({"PORTAL_ENV": "production"})
    strong = {
        "PORTAL_ENV": "production",
        "IDENTITY_OTP_SECRET": "o" * 32,
        "IDENTITY_KEY_ENCRYPTION_SECRET": "k" * 32,
    }
    assert IdentityConfig.from_env(strong).argon2.memory_cost_kib == 19456
    with pytest.raises(ConfigError):
        IdentityConfig.from_env({**strong, "IDENTITY_ARGON2_MEMORY_KIB": "1024"})
    with pytest.raises(ConfigError):
        IdentityConfig.from_env({"IDENTITY_OTP_MAX_ATTEMPTS": "many"})
    tuned = IdentityConfig.from_env(
        {"IDENTITY_OTP_TTL_SECONDS": "120", "CARRIER_REGISTRY_URL": "http://carrier:9/"}
    )
    assert tuned.otp_ttl_seconds == 120 and tuned.carrier_url == "http://carrier:9"
