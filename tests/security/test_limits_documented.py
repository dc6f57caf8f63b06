"""docs/operations.md's table of front-door limits says the code's own names and defaults."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from gateway.config import GatewaySettings
from services.identity.config import IdentityConfig, PasswordSettings
from services.notify.config import NotifySettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
SECTION = "## Every limit of the front door, with its default"

Read = Callable[[Mapping[str, str]], object]


def _identity(field: str) -> Read:
    return lambda env: getattr(IdentityConfig.from_env(env), field)


def _passwords(field: str) -> Read:
    return lambda env: getattr(PasswordSettings.from_env(env), field)


def _notify(field: str) -> Read:
    return lambda env: getattr(NotifySettings.from_env(env), field)


def _gateway_limit(name: str) -> Read:
    return lambda env: GatewaySettings.from_env(env).rate_limits[name]


READERS: dict[str, Read] = {
    "IDENTITY_OTP_TTL_SECONDS": _identity("otp_ttl_seconds"),
    "IDENTITY_OTP_MAX_ATTEMPTS": _identity("otp_max_attempts"),
    "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": _identity("otp_resend_cooldown_seconds"),
    "IDENTITY_OTP_SENDS_PER_PHONE_PER_HOUR": _identity("otp_sends_per_phone_per_hour"),
    "IDENTITY_OTP_PHONES_PER_DAY": _identity("otp_phones_per_day"),
    "IDENTITY_OTP_DECOY_DELIVERED_SECONDS": _identity("otp_decoy_delivered_seconds"),
    "IDENTITY_LOGIN_FREE_FAILURES": _identity("login_free_failures"),
    "IDENTITY_LOGIN_THROTTLE_BASE_SECONDS": _identity("login_throttle_base_seconds"),
    "IDENTITY_LOGIN_THROTTLE_MAX_SECONDS": _identity("login_throttle_max_seconds"),
    "IDENTITY_PASSWORD_MIN_LENGTH": _passwords("min_length"),
    "IDENTITY_PASSWORD_MIN_GUESSES_LOG10": _passwords("min_guesses_log10"),
    "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": _notify("sms_per_recipient_per_hour"),
    "NOTIFY_OTP_SMS_PER_RECIPIENT_PER_HOUR": _notify("otp_sms_per_recipient_per_hour"),
    "NOTIFY_OTP_MAX_AGE": _notify("otp_max_age"),
    "GATEWAY_REQUEST_RECEIVE_TIMEOUT": lambda env: GatewaySettings.from_env(env).receive_timeout,
}


def documented() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| `([^`]+)` \|", section, flags=re.M)
    return dict(rows)


def reader(name: str) -> Read:
    if name.startswith("GATEWAY_RATE_LIMIT_"):
        return _gateway_limit(name.removeprefix("GATEWAY_RATE_LIMIT_").lower())
    return READERS[name]


def other_value(default: str) -> str:
    if "/" in default:
        return "7/minute"
    return str(int(float(default)) + 1)


def test_the_table_covers_every_gateway_limit_and_budget() -> None:
    names = set(documented())
    gateway = {f"GATEWAY_RATE_LIMIT_{n.upper()}" for n in GatewaySettings.from_env({}).rate_limits}
    assert gateway <= names
    assert set(READERS) <= names


@pytest.mark.parametrize("name", sorted(documented()))
def test_each_documented_default_is_the_code_default_and_the_name_is_read(name: str) -> None:
    default = documented()[name]
    read = reader(name)
    value = read({})
    assert str(value) == default or (isinstance(value, float) and value == float(default))
    changed = read({name: other_value(default)})
    assert str(changed) != str(value), f"{name} is not read by the code"
