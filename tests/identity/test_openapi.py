"""The OpenAPI document lists the contract's paths; published events are documented."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from services.core.contracts.identity import PUBLISHED_EVENTS
from services.identity.problems import MESSAGES

README = Path(__file__).resolve().parents[2] / "services" / "identity" / "README.md"


def test_openapi_lists_the_contract_paths(client: FlaskClient) -> None:
    spec = client.get("/api/identity/openapi.json").get_json()
    paths = set(spec["paths"])
    for path in (
        "/api/identity/registrations",
        "/api/identity/registrations/{registration_id}/otp/resend",
        "/api/identity/registrations/{registration_id}/otp/verify",
        "/api/identity/registrations/{registration_id}/complete",
        "/api/identity/logins",
        "/api/identity/logins/{login_id}/otp/resend",
        "/api/identity/logins/{login_id}/otp/verify",
        "/api/identity/logins/{login_id}/phone-change",
        "/api/identity/logins/{login_id}/phone-change/verify",
        "/api/identity/tokens/refresh",
        "/api/identity/password-resets",
        "/api/identity/password-resets/{reset_id}/otp/verify",
        "/api/identity/password-resets/{reset_id}/complete",
        "/api/identity/me",
        "/api/identity/me/access-log",
        "/api/identity/me/otp-phones",
        "/api/identity/.well-known/jwks.json",
    ):
        assert path in paths, path


def test_every_published_event_and_problem_code_is_documented() -> None:
    readme = README.read_text(encoding="utf-8")
    for event in PUBLISHED_EVENTS:
        assert f"`{event}`" in readme, event
    for code in MESSAGES:
        assert f"`{code}`" in readme, code


def test_openapi_lists_the_otp_states_and_the_phone_addition_password(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/identity/openapi.json").get_json()
    for path in (
        "/api/identity/registrations/{registration_id}/otp",
        "/api/identity/logins/{login_id}/otp",
        "/api/identity/logins/{login_id}/phone-change/otp",
        "/api/identity/password-resets/{reset_id}/otp",
    ):
        assert "get" in spec["paths"][path], path
    schemas = spec["components"]["schemas"]
    assert "password" in schemas["OtpPhoneRequest"]["required"]
    assert "delivery" in schemas["Otp"]["properties"]
