"""Identity's own settings: every limit of OTPs, logins, tokens and keys, read once from env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.core.config import ConfigError, env_float, env_int

DEV_OTP_SECRET = "dev-only-identity-otp-secret"  # noqa: S105 - refused in production
DEV_KEY_ENCRYPTION_SECRET = "dev-only-identity-key-encryption-secret"  # noqa: S105
OWASP_MIN_MEMORY_KIB = 19456
OWASP_MIN_TIME_COST = 2


@dataclass(frozen=True)
class Argon2Parameters:
    """argon2id cost; the defaults are OWASP's minimum (19 MiB, 2 passes, 1 lane)."""

    time_cost: int = OWASP_MIN_TIME_COST
    memory_cost_kib: int = OWASP_MIN_MEMORY_KIB
    parallelism: int = 1
    # Hashes computed at once per process; the rest queue (bounds RAM and CPU thrash).
    concurrency: int = os.cpu_count() or 1


@dataclass(frozen=True)
class IdentityConfig:
    """Everything identity may be tuned by; safe defaults for every limit."""

    otp_secret: str = DEV_OTP_SECRET
    key_encryption_secret: str = DEV_KEY_ENCRYPTION_SECRET
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_resend_cooldown_seconds: int = 60
    otp_sends_per_phone_per_hour: int = 5  # per purpose: a reset never spends the login's
    otp_phones_per_day: int = 3  # OTP phone additions an account may start per 24 hours
    otp_decoy_delivered_seconds: int = 2  # a decoy code "arrives" after this long
    registration_ttl_seconds: int = 1800
    registration_purge_after_seconds: int = 86400
    flow_ttl_seconds: int = 900
    login_free_failures: int = 5
    login_throttle_base_seconds: int = 30
    login_throttle_max_seconds: int = 900
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 86400
    key_publish_delay_seconds: int = 300
    signing_key_cache_seconds: int = 30
    access_log_size: int = 50
    argon2: Argon2Parameters = Argon2Parameters()
    carrier_url: str = "http://127.0.0.1:8009"
    carrier_timeout_seconds: float = 3.0
    purge_interval_seconds: int = 600
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IdentityConfig:
        """Read IDENTITY_* and CARRIER_* variables; secrets are required in production."""
        env = os.environ if env is None else env
        production = env.get("PORTAL_ENV", "development") == "production"
        d = cls()
        otp_secret = env.get("IDENTITY_OTP_SECRET", "")
        key_secret = env.get("IDENTITY_KEY_ENCRYPTION_SECRET", "")
        if production and (len(otp_secret) < 32 or len(key_secret) < 32):
            raise ConfigError(
                "IDENTITY_OTP_SECRET and IDENTITY_KEY_ENCRYPTION_SECRET must be set "
                "(at least 32 characters) when PORTAL_ENV=production"
            )
        argon2 = Argon2Parameters(
            time_cost=env_int(env, "IDENTITY_ARGON2_TIME_COST", d.argon2.time_cost, minimum=1),
            memory_cost_kib=env_int(
                env, "IDENTITY_ARGON2_MEMORY_KIB", d.argon2.memory_cost_kib, minimum=8
            ),
            parallelism=env_int(
                env, "IDENTITY_ARGON2_PARALLELISM", d.argon2.parallelism, minimum=1
            ),
            concurrency=env_int(
                env, "IDENTITY_ARGON2_CONCURRENCY", d.argon2.concurrency, minimum=1
            ),
        )
        if production and (
            argon2.memory_cost_kib < OWASP_MIN_MEMORY_KIB or argon2.time_cost < OWASP_MIN_TIME_COST
        ):
            raise ConfigError("argon2 parameters below OWASP's minimum are refused in production")
        return cls(
            otp_secret=otp_secret or d.otp_secret,
            key_encryption_secret=key_secret or d.key_encryption_secret,
            otp_ttl_seconds=env_int(env, "IDENTITY_OTP_TTL_SECONDS", d.otp_ttl_seconds, minimum=30),
            otp_max_attempts=env_int(
                env, "IDENTITY_OTP_MAX_ATTEMPTS", d.otp_max_attempts, minimum=1
            ),
            otp_resend_cooldown_seconds=env_int(
                env, "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS", d.otp_resend_cooldown_seconds
            ),
            otp_sends_per_phone_per_hour=env_int(
                env,
                "IDENTITY_OTP_SENDS_PER_PHONE_PER_HOUR",
                d.otp_sends_per_phone_per_hour,
                minimum=1,
            ),
            otp_phones_per_day=env_int(
                env, "IDENTITY_OTP_PHONES_PER_DAY", d.otp_phones_per_day, minimum=1
            ),
            otp_decoy_delivered_seconds=env_int(
                env, "IDENTITY_OTP_DECOY_DELIVERED_SECONDS", d.otp_decoy_delivered_seconds
            ),
            registration_ttl_seconds=env_int(
                env, "IDENTITY_REGISTRATION_TTL_SECONDS", d.registration_ttl_seconds, minimum=60
            ),
            registration_purge_after_seconds=env_int(
                env, "IDENTITY_REGISTRATION_PURGE_AFTER_SECONDS", d.registration_purge_after_seconds
            ),
            flow_ttl_seconds=env_int(
                env, "IDENTITY_FLOW_TTL_SECONDS", d.flow_ttl_seconds, minimum=60
            ),
            login_free_failures=env_int(
                env, "IDENTITY_LOGIN_FREE_FAILURES", d.login_free_failures, minimum=1
            ),
            login_throttle_base_seconds=env_int(
                env,
                "IDENTITY_LOGIN_THROTTLE_BASE_SECONDS",
                d.login_throttle_base_seconds,
                minimum=1,
            ),
            login_throttle_max_seconds=env_int(
                env, "IDENTITY_LOGIN_THROTTLE_MAX_SECONDS", d.login_throttle_max_seconds, minimum=1
            ),
            access_token_ttl_seconds=env_int(
                env, "IDENTITY_ACCESS_TOKEN_TTL_SECONDS", d.access_token_ttl_seconds, minimum=60
            ),
            refresh_token_ttl_seconds=env_int(
                env, "IDENTITY_REFRESH_TOKEN_TTL_SECONDS", d.refresh_token_ttl_seconds, minimum=60
            ),
            key_publish_delay_seconds=env_int(
                env, "IDENTITY_KEY_PUBLISH_DELAY_SECONDS", d.key_publish_delay_seconds
            ),
            signing_key_cache_seconds=env_int(
                env, "IDENTITY_SIGNING_KEY_CACHE_SECONDS", d.signing_key_cache_seconds
            ),
            access_log_size=env_int(env, "IDENTITY_ACCESS_LOG_SIZE", d.access_log_size, minimum=1),
            argon2=argon2,
            carrier_url=(env.get("CARRIER_REGISTRY_URL") or d.carrier_url).rstrip("/"),
            carrier_timeout_seconds=env_float(
                env, "CARRIER_TIMEOUT_SECONDS", d.carrier_timeout_seconds, strict=True
            ),
            trusted_proxies=env_int(env, "IDENTITY_TRUSTED_PROXIES", d.trusted_proxies),
            purge_interval_seconds=env_int(
                env, "IDENTITY_PURGE_INTERVAL_SECONDS", d.purge_interval_seconds, minimum=1
            ),
        )


@dataclass(frozen=True)
class PasswordSettings:
    """How strict the rule is; read once from the environment."""

    min_length: int = 8
    max_length: int = 128
    # zxcvbn's estimate of guesses, as a power of ten: below it a password is too predictable.
    # 8 is zxcvbn's score 3 ("safely unguessable" for a throttled online attacker); 0 disables.
    min_guesses_log10: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PasswordSettings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            min_length=env_int(env, "IDENTITY_PASSWORD_MIN_LENGTH", d.min_length, minimum=8),
            max_length=d.max_length,
            min_guesses_log10=env_int(
                env, "IDENTITY_PASSWORD_MIN_GUESSES_LOG10", d.min_guesses_log10, minimum=0
            ),
        )
