"""The gateway's settings from the environment."""

from __future__ import annotations

import pytest

from gateway.config import GatewaySettings
from services.core.config import ConfigError


def test_settings_from_the_environment() -> None:
    settings = GatewaySettings.from_env(
        {
            "GATEWAY_CATALOG_URL": "http://catalog:8002/",
            "PORTAL_ROLE": "province",
            "PORTAL_PROVINCE": "38",
            "GATEWAY_RATE_LIMIT_LOGIN": "3/minute",
            "RATELIMIT_STORAGE_URI": "redis://redis:6379/0",
            "GATEWAY_CORS_ORIGINS": "https://a.example, https://b.example",
            "TOKEN_TRUSTED_ISSUERS": "https://nation/api/identity=https://nation/jwks.json",
            "GATEWAY_MAX_BODY_BYTES": "1000",
        }
    )
    assert settings.upstreams["catalog"] == "http://catalog:8002"
    assert (settings.role, settings.province) == ("province", "38")
    assert settings.rate_limits["login"] == "3/minute"
    assert settings.rate_limits["otp"] == "20/minute"
    assert settings.ratelimit_storage_uri == "redis://redis:6379/0"
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.trusted_issuers == {"https://nation/api/identity": "https://nation/jwks.json"}
    assert settings.max_body_bytes == 1000
    assert settings.identity_jwks_url.endswith("/api/identity/.well-known/jwks.json")


def test_gateway_role_wins_over_the_portal_role() -> None:
    settings = GatewaySettings.from_env({"GATEWAY_ROLE": "national", "PORTAL_ROLE": "province"})
    assert settings.role == "national"


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_ROLE": "province"},
        {"GATEWAY_ROLE": "province", "GATEWAY_PROVINCE": "Thanh Hoa"},
        {"GATEWAY_ROLE": "state"},
        {"TOKEN_TRUSTED_ISSUERS": "no-equals-sign"},
        {"GATEWAY_READ_TIMEOUT": "soon"},
    ],
)
def test_bad_settings_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        GatewaySettings.from_env(env)
