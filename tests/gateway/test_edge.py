"""Edge checks: bearer tokens on the calls that need a login, rate limits, health."""

from __future__ import annotations

import base64
import json
import secrets
import time

import jwt
import pytest
from flask import Flask

from gateway.app import create_app
from gateway.config import GatewaySettings
from tests.gateway.conftest import EchoService
from tests.support.tokens import TokenFactory


def _app(url: str, tokens: TokenFactory, **overrides: object) -> Flask:
    upstreams = {name: url for name in ("identity", "catalog", "dossiers", "notify")}
    settings = GatewaySettings(upstreams=upstreams, **overrides)  # type: ignore[arg-type]
    return create_app(settings, verifier=tokens.verifier())


def _segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{_segment(header)}.{_segment(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "path",
    ["/api/identity/me", "/api/dossiers", "/api/dossiers/abc/submit", "/api/notify/inbox"],
)
def test_protected_calls_need_a_token_before_the_service(
    echo: tuple[EchoService, str], path: str
) -> None:
    service, url = echo
    client = _app(url, TokenFactory()).test_client()
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert service.calls == []


def test_public_calls_pass_without_a_token(echo: tuple[EchoService, str]) -> None:
    service, url = echo
    client = _app(url, TokenFactory()).test_client()
    for path in ("/api/dossiers/lookup?code=x", "/api/catalog/procedures", "/api/dossiers/stats"):
        assert client.get(path).status_code == 200, path
    assert client.post("/api/dossiers/anonymous", json={}).status_code == 200
    assert len(service.calls) == 4


def test_bad_tokens_are_401_never_500(echo: tuple[EchoService, str]) -> None:
    service, url = echo
    tokens = TokenFactory()
    client = _app(url, tokens).test_client()
    now = int(time.time())
    claims = {"sub": "x", "iss": tokens.issuer, "aud": "portal", "iat": now, "exp": now + 60}
    other = TokenFactory(kid=tokens.kid)
    bad = [
        "not-a-jwt",
        "a.b.c",
        forged({"alg": "none", "kid": tokens.kid}, claims),
        forged({"alg": "RS256", "kid": ["list"]}, claims),
        forged({"alg": "RS256", "kid": {"a": 1}}, claims),
        forged({"alg": "RS256"}, claims),
        forged({"alg": "EdDSA", "kid": tokens.kid}, claims),
        forged({"alg": "RS256", "kid": "unknown"}, claims),
        jwt.encode(claims, "secret" * 8, algorithm="HS256", headers={"kid": tokens.kid}),
        other.issue(),  # same kid, another key: bad signature
        tokens.issue(expires_in=-10),
        tokens.issue(audience="elsewhere"),
    ]
    for token in bad:
        answer = client.get("/api/identity/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, token
        assert answer.json["code"] == "invalid_token", token
    assert service.calls == []
    good = client.get("/api/identity/me", headers={"Authorization": f"Bearer {tokens.issue()}"})
    assert good.status_code == 200
    assert len(service.calls) == 1


def test_sensitive_calls_are_rate_limited_per_client(echo: tuple[EchoService, str]) -> None:
    service, url = echo
    limits = {
        "registration": "2/minute",
        "login": "2/minute",
        "otp": "3/minute",
        "password_reset": "1/minute",
        "lookup": "2/minute",
    }
    client = _app(url, TokenFactory(), rate_limits=limits, role="province", province="38")
    web = client.test_client()
    assert [web.post("/api/identity/logins", json={}).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    refused = web.post("/api/identity/logins", json={}, headers={"Accept-Language": "en"})
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json["retry_after"] == int(refused.headers["Retry-After"])
    # Another client has its own budget.
    other = {"REMOTE_ADDR": "10.0.0.9"}
    assert web.post("/api/identity/logins", json={}, environ_base=other).status_code == 200
    # OTP steps of every flow share the "otp" limit.
    codes = [
        web.post(f"/api/identity/{flow}/id1/otp/verify", json={}).status_code
        for flow in ("registrations", "logins", "password-resets", "logins")
    ]
    assert codes == [200, 200, 200, 429]
    assert [web.post("/api/identity/password-resets").status_code for _ in range(2)] == [200, 429]
    assert [web.get("/api/dossiers/lookup?code=a").status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    # Other calls are not limited.
    assert all(web.get("/api/catalog/procedures").status_code == 200 for _ in range(10))
    assert service.calls[0]["path"] == "/api/identity/logins"


def test_health_readiness_and_metrics(echo: tuple[EchoService, str], free_port: int) -> None:
    _service, url = echo
    client = _app(url, TokenFactory()).test_client()
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["checks"] == {n: True for n in ("identity", "catalog", "dossiers", "notify")}
    client.get("/api/catalog/procedures")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'portal_gateway_requests_total{status="200",upstream="catalog"}' in metrics

    down = f"http://127.0.0.1:{free_port}"
    settings = GatewaySettings(upstreams={"catalog": url, "dossiers": down})
    not_ready = create_app(settings, verifier=TokenFactory().verifier()).test_client()
    answer = not_ready.get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"] == {"catalog": True, "dossiers": False}


def test_limits_fall_back_to_memory_when_redis_is_unreachable(
    echo: tuple[EchoService, str], free_port: int
) -> None:
    _service, url = echo
    app = _app(
        url,
        TokenFactory(),
        rate_limits={**GatewaySettings().rate_limits, "login": "1/minute"},
        ratelimit_storage_uri=f"redis://127.0.0.1:{free_port}/0",
    )
    web = app.test_client()
    assert [web.post("/api/identity/logins").status_code for _ in range(2)] == [200, 429]


def test_gateway_processes_sharing_redis_share_each_clients_limit(
    echo: tuple[EchoService, str], redis_url: str
) -> None:
    """Two gateways (two processes in production) count one client's calls together."""
    _service, url = echo
    limits = {**GatewaySettings().rate_limits, "login": "3/minute"}
    first, second = (
        _app(url, TokenFactory(), rate_limits=limits, ratelimit_storage_uri=redis_url)
        for _ in range(2)
    )
    # A client address of its own: the moving window outlives this test run.
    client = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"}
    other = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.8"}
    webs = [first.test_client(), second.test_client(), first.test_client()]
    codes = [w.post("/api/identity/logins", environ_base=client).status_code for w in webs]
    assert codes == [200, 200, 200]
    refused = second.test_client().post("/api/identity/logins", environ_base=client)
    assert refused.status_code == 429
    assert refused.json["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client keeps its own count.
    assert first.test_client().post("/api/identity/logins", environ_base=other).status_code == 200
    # In memory (the default) each process would have let the fourth call through.
    alone = _app(url, TokenFactory(), rate_limits=limits)
    assert alone.test_client().post("/api/identity/logins", environ_base=client).status_code == 200


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(
    echo: tuple[EchoService, str],
) -> None:
    service, url = echo
    app = _app(
        url,
        TokenFactory(),
        rate_limits={**GatewaySettings().rate_limits, "login": "1/minute"},
        trusted_proxies=1,
    )
    web = app.test_client()
    first = {"X-Forwarded-For": "203.0.113.7"}
    second = {"X-Forwarded-For": "203.0.113.8"}
    assert web.post("/api/identity/logins", headers=first).status_code == 200
    assert web.post("/api/identity/logins", headers=first).status_code == 429
    assert web.post("/api/identity/logins", headers=second).status_code == 200
    web.get("/api/catalog/procedures", headers=first)
    # The chain goes on with the peer (the proxy) appended, as every proxy does.
    assert service.calls[-1]["headers"]["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
