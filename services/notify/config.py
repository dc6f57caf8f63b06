"""Settings of the notify service, read once from the environment into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.core.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_delays,
    env_float,
    env_int,
)

SMS_PROVIDERS = ("dev-outbox", "http")
EMAIL_PROVIDERS = ("dev-outbox", "smtp")
DEV_OUTBOX = "dev-outbox"
PRODUCTION = "production"


@dataclass(frozen=True)
class NotifySettings:
    """Providers, limits and schedules of notify; every limit has a safe default."""

    portal_env: str = "development"
    sms_provider: str = DEV_OUTBOX
    email_provider: str = DEV_OUTBOX
    dev_outbox_endpoint: bool = True
    # HTTP SMS gateway
    sms_gateway_url: str = ""
    sms_gateway_api_key: str = ""
    sms_gateway_timeout: float = 5.0
    sms_sender: str = "DVCQG"
    sms_strip_diacritics: bool = True
    sms_per_recipient_per_hour: int = 10
    # OTPs are a class of their own: their own budget, never counted with status SMS
    # (identity already caps each flow), and no use once older than otp_max_age.
    otp_sms_per_recipient_per_hour: int = 20
    otp_max_age: float = 300.0
    # SMTP
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 10.0
    email_from: str = "Cổng Dịch vụ công <no-reply@dichvucong.gov.vn>"
    # Delivery scheduling
    retry_delays: tuple[float, ...] = (5.0, 30.0, 120.0, 600.0, 1800.0)
    delivery_threads: int = 8
    poll_interval: float = 1.0
    poll_batch_size: int = 200
    sending_lease: float = 120.0

    @property
    def max_attempts(self) -> int:
        """The first attempt plus one retry per configured delay."""
        return len(self.retry_delays) + 1

    @property
    def dev_outbox_in_use(self) -> bool:
        return DEV_OUTBOX in (self.sms_provider, self.email_provider) or self.dev_outbox_endpoint

    def check(self) -> NotifySettings:
        """Refuse configurations that must never run; return self when fine."""
        if self.portal_env == PRODUCTION and self.dev_outbox_in_use:
            raise ConfigError(
                "the dev outbox is not allowed with PORTAL_ENV=production: set "
                "NOTIFY_SMS_PROVIDER=http, NOTIFY_EMAIL_PROVIDER=smtp and "
                "NOTIFY_DEV_OUTBOX_ENDPOINT=false"
            )
        if self.sms_provider == "http" and not self.sms_gateway_url:
            raise ConfigError("NOTIFY_SMS_GATEWAY_URL is required with NOTIFY_SMS_PROVIDER=http")
        if self.email_provider == "smtp" and not self.smtp_host:
            raise ConfigError("NOTIFY_SMTP_HOST is required with NOTIFY_EMAIL_PROVIDER=smtp")
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if env is None else env
        d = cls()
        portal_env = env.get("PORTAL_ENV", "").strip() or d.portal_env
        # In production the dev defaults do not apply: nothing is enabled by omission.
        production = portal_env == PRODUCTION
        sms_cap = env_int(env, "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR", d.sms_per_recipient_per_hour)
        return cls(
            portal_env=portal_env,
            sms_provider=env_choice(
                env, "NOTIFY_SMS_PROVIDER", "http" if production else d.sms_provider, SMS_PROVIDERS
            ),
            email_provider=env_choice(
                env,
                "NOTIFY_EMAIL_PROVIDER",
                "smtp" if production else d.email_provider,
                EMAIL_PROVIDERS,
            ),
            dev_outbox_endpoint=env_bool(env, "NOTIFY_DEV_OUTBOX_ENDPOINT", not production),
            sms_gateway_url=env.get("NOTIFY_SMS_GATEWAY_URL", "").strip(),
            sms_gateway_api_key=env.get("NOTIFY_SMS_GATEWAY_API_KEY", ""),
            sms_gateway_timeout=env_float(
                env, "NOTIFY_SMS_GATEWAY_TIMEOUT", d.sms_gateway_timeout, minimum=0.1
            ),
            sms_sender=env.get("NOTIFY_SMS_SENDER", "").strip() or d.sms_sender,
            sms_strip_diacritics=env_bool(
                env, "NOTIFY_SMS_STRIP_DIACRITICS", d.sms_strip_diacritics
            ),
            sms_per_recipient_per_hour=sms_cap,
            # Unset, the OTP budget is never below the status one (an operator who lifted
            # the SMS cap, as the load tests do, did not mean to cap OTPs lower).
            otp_sms_per_recipient_per_hour=env_int(
                env,
                "NOTIFY_OTP_SMS_PER_RECIPIENT_PER_HOUR",
                max(d.otp_sms_per_recipient_per_hour, sms_cap),
            ),
            otp_max_age=env_float(env, "NOTIFY_OTP_MAX_AGE", d.otp_max_age, minimum=1),
            smtp_host=env.get("NOTIFY_SMTP_HOST", "").strip() or d.smtp_host,
            smtp_port=env_int(env, "NOTIFY_SMTP_PORT", d.smtp_port, minimum=1),
            smtp_starttls=env_bool(env, "NOTIFY_SMTP_STARTTLS", d.smtp_starttls),
            smtp_username=env.get("NOTIFY_SMTP_USERNAME", ""),
            smtp_password=env.get("NOTIFY_SMTP_PASSWORD", ""),
            smtp_timeout=env_float(env, "NOTIFY_SMTP_TIMEOUT", d.smtp_timeout, minimum=0.1),
            email_from=env.get("NOTIFY_EMAIL_FROM", "").strip() or d.email_from,
            retry_delays=env_delays(env, "NOTIFY_RETRY_DELAYS", d.retry_delays),
            delivery_threads=env_int(env, "NOTIFY_DELIVERY_THREADS", d.delivery_threads, minimum=1),
            poll_interval=env_float(env, "NOTIFY_POLL_INTERVAL", d.poll_interval, minimum=0.01),
            poll_batch_size=max(1, env_int(env, "NOTIFY_POLL_BATCH_SIZE", d.poll_batch_size)),
            sending_lease=env_float(env, "NOTIFY_SENDING_LEASE", d.sending_lease, minimum=1),
        ).check()
