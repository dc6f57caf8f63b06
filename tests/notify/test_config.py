"""Configuration: safe defaults, and no dev outbox in production whatever is set."""

from __future__ import annotations

import pytest

from services.core.config import ConfigError, ServiceSettings
from services.notify import SERVICE
from services.notify.app import create_app
from services.notify.config import NotifySettings
from services.notify.context import build_context

PRODUCTION_OK = {
    "PORTAL_ENV": "production",
    "NOTIFY_SMS_PROVIDER": "http",
    "NOTIFY_SMS_GATEWAY_URL": "https://sms.example.vn/send",
    "NOTIFY_EMAIL_PROVIDER": "smtp",
    "NOTIFY_SMTP_HOST": "smtp.example.vn",
}


def test_development_defaults_use_the_dev_outbox() -> None:
    settings = NotifySettings.from_env({})
    assert settings.sms_provider == "dev-outbox" and settings.email_provider == "dev-outbox"
    assert settings.dev_outbox_endpoint and settings.sms_strip_diacritics
    assert settings.max_attempts == len(settings.retry_delays) + 1


def test_production_with_real_providers_starts() -> None:
    settings = NotifySettings.from_env(PRODUCTION_OK)
    assert settings.sms_provider == "http" and not settings.dev_outbox_endpoint


def test_production_needs_no_dev_setting_to_be_safe() -> None:
    # Nothing dev is enabled by omission: the defaults in production are real providers.
    with pytest.raises(ConfigError, match="NOTIFY_SMS_GATEWAY_URL"):
        NotifySettings.from_env({"PORTAL_ENV": "production"})


@pytest.mark.parametrize(
    "change",
    [
        {"NOTIFY_SMS_PROVIDER": "dev-outbox"},
        {"NOTIFY_EMAIL_PROVIDER": "dev-outbox"},
        {"NOTIFY_DEV_OUTBOX_ENDPOINT": "true"},
    ],
)
def test_production_refuses_any_dev_outbox(change: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="dev outbox"):
        NotifySettings.from_env({**PRODUCTION_OK, **change})


def test_the_web_app_refuses_to_start_with_the_dev_outbox_in_production(tmp_path: object) -> None:
    settings = ServiceSettings.from_env(
        SERVICE, {"NOTIFY_DATABASE_URL": f"sqlite:///{tmp_path}/n.db"}
    )
    with pytest.raises(ConfigError, match="dev outbox"):
        create_app(build_context(settings, NotifySettings(portal_env="production")))


@pytest.mark.parametrize(
    "env",
    [
        {"NOTIFY_SMS_PROVIDER": "carrier-pigeon"},
        {"NOTIFY_RETRY_DELAYS": "5,abc"},
        {"NOTIFY_RETRY_DELAYS": "5,-1"},
        {"NOTIFY_SMS_STRIP_DIACRITICS": "maybe"},
        {"NOTIFY_SMS_GATEWAY_TIMEOUT": "0"},
        {"NOTIFY_SMS_PROVIDER": "http"},
    ],
)
def test_bad_values_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        NotifySettings.from_env(env)


def test_limits_are_configurable() -> None:
    settings = NotifySettings.from_env(
        {
            "NOTIFY_RETRY_DELAYS": "1,2,4",
            "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "3",
            "NOTIFY_SMS_STRIP_DIACRITICS": "false",
            "NOTIFY_SMTP_STARTTLS": "yes",
        }
    )
    assert settings.retry_delays == (1.0, 2.0, 4.0) and settings.max_attempts == 4
    assert settings.sms_per_recipient_per_hour == 3
    assert not settings.sms_strip_diacritics and settings.smtp_starttls


def test_check_config_prints_settings_without_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.notify.manage import main

    for name, value in {**PRODUCTION_OK, "NOTIFY_SMS_GATEWAY_API_KEY": "s3cr3t"}.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "sms_provider=http" in out and "sms_gateway_api_key=***" in out
    assert "s3cr3t" not in out
    monkeypatch.setenv("NOTIFY_SMS_PROVIDER", "dev-outbox")
    assert main(["check-config"]) == 2
    assert "dev outbox" in capsys.readouterr().err


def test_the_otp_budget_is_its_own_and_never_below_a_lifted_status_cap() -> None:
    defaults = NotifySettings.from_env({})
    assert (defaults.sms_per_recipient_per_hour, defaults.otp_sms_per_recipient_per_hour) == (
        10,
        20,
    )
    assert defaults.otp_max_age == 300
    lifted = NotifySettings.from_env({"NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "1000000"})
    assert lifted.otp_sms_per_recipient_per_hour == 1000000
    own = NotifySettings.from_env(
        {
            "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "1000",
            "NOTIFY_OTP_SMS_PER_RECIPIENT_PER_HOUR": "5",
            "NOTIFY_OTP_MAX_AGE": "120",
        }
    )
    assert (own.otp_sms_per_recipient_per_hour, own.otp_max_age) == (5, 120.0)
    for bad in ({"NOTIFY_OTP_SMS_PER_RECIPIENT_PER_HOUR": "-1"}, {"NOTIFY_OTP_MAX_AGE": "0"}):
        with pytest.raises(ConfigError):
            NotifySettings.from_env(bad)
