"""Verifying identity's access tokens locally, from its cached JWKS.

Every service and the gateway verify bearer tokens themselves: signature (RS256 or
EdDSA, key chosen by `kid`), issuer, audience and expiry. Keys come from the JWKS URL
(cached, refetched when an unknown `kid` appears, so keys rotate without downtime) or
from a JWKS document given directly (tests, offline deployments).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from flask import g, request

from services.core.config import ServiceSettings
from services.core.problems import Forbidden, Unauthorized

ALGORITHMS = ["RS256", "EdDSA"]
DEFAULT_AUDIENCE = "portal"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Claims:
    """Who is calling: the verified claims of an access token."""

    sub: str
    roles: tuple[str, ...]
    name: str = ""
    agency: str | None = None
    loa: int = 0
    jti: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


class JwksCache:
    """Public keys by `kid`, fetched from a URL or given; refreshed on an unknown kid."""

    def __init__(
        self,
        url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        ttl: float = 300.0,
        min_refresh_interval: float = 5.0,
        timeout: float = 3.0,
    ) -> None:
        if url is None and jwks is None:
            raise ValueError("a JWKS URL or a JWKS document is required")
        self.url = url
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        if jwks is not None:
            self._load(jwks)
            self._fetched_at = float("inf") if url is None else time.monotonic()

    def _load(self, jwks: Mapping[str, Any]) -> None:
        keys = {}
        for jwk in jwks.get("keys", []):
            kid = jwk.get("kid")
            if kid:
                keys[kid] = jwt.PyJWK(dict(jwk)).key
        self._keys = keys

    def _refresh(self) -> None:
        assert self.url is not None
        response = requests.get(self.url, timeout=self.timeout)
        response.raise_for_status()
        self._load(response.json())
        self._fetched_at = time.monotonic()

    def key(self, kid: str) -> Any:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = self.url is not None and age > self.ttl
            unknown = kid not in self._keys and self.url is not None
            if stale or (unknown and age > self.min_refresh_interval):
                try:
                    self._refresh()
                except (requests.RequestException, ValueError):
                    if not self._keys:
                        raise
            return self._keys.get(kid)


def algorithm_for(key: Any) -> str:
    """The one JWS algorithm a public key of ours verifies."""
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, RSAPublicKey):
        return "RS256"
    raise Unauthorized("invalid_token", detail="unsupported signing key")


class TokenVerifier:
    """Checks a bearer token and returns its claims, or raises Unauthorized.

    One issuer by default; `trusted` adds more (issuer -> its keys), so a provincial
    service accepts the national identity's tokens beside its own.
    """

    def __init__(
        self,
        keys: JwksCache,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        trusted: Mapping[str, JwksCache] | None = None,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.issuers: dict[str, JwksCache] = {issuer: keys, **(trusted or {})}

    def _issuer_keys(self, token: str) -> tuple[str, JwksCache]:
        if len(self.issuers) == 1:
            return self.issuer, self.keys
        unverified = jwt.decode(token, options={"verify_signature": False})
        issuer = unverified.get("iss") if isinstance(unverified, dict) else None
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise Unauthorized("invalid_token", detail="untrusted issuer")
        return issuer, self.issuers[issuer]

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if not kid or not isinstance(kid, str):
                raise Unauthorized("invalid_token", detail="token has no kid")
            if header.get("alg") not in ALGORITHMS:
                raise Unauthorized("invalid_token", detail="algorithm not allowed")
            issuer, keys = self._issuer_keys(token)
            try:
                key = keys.key(kid)
            except (requests.RequestException, ValueError) as exc:
                raise Unauthorized("invalid_token", detail="signing keys unavailable") from exc
            if key is None:
                raise Unauthorized("invalid_token", detail="unknown signing key")
            # The key decides the algorithm, never the token's header (alg confusion).
            payload = jwt.decode(
                token,
                key,
                algorithms=[algorithm_for(key)],
                audience=self.audience,
                issuer=issuer,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # PyJWTError for bad tokens; TypeError/ValueError when a token's algorithm
            # does not fit the key type (an EdDSA header over an RSA key, say).
            raise Unauthorized("invalid_token", detail=str(exc)) from exc
        roles = payload.get("roles") or []
        return Claims(
            sub=str(payload["sub"]),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            name=str(payload.get("name", "")),
            agency=payload.get("agency") if isinstance(payload.get("agency"), str) else None,
            loa=_loa(payload.get("loa")),
            jti=str(payload.get("jti", "")),
            raw=payload,
        )


def _loa(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def verifier_for(settings: ServiceSettings) -> TokenVerifier:
    """The verifier of a service process: identity's JWKS by URL, cached; more issuers
    when TOKEN_TRUSTED_ISSUERS names them."""
    return TokenVerifier(
        JwksCache(url=settings.jwks_url),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        trusted={
            issuer: JwksCache(url=url)
            for issuer, url in settings.trusted_issuers
            if issuer != settings.token_issuer
        },
    )


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_claims() -> Claims:
    """The verified caller of this request (inside a route guarded by require_auth)."""
    claims = g.get("claims")
    if claims is None:
        raise Unauthorized()
    return claims  # type: ignore[no-any-return]


def require_auth(
    verifier: Callable[[], TokenVerifier], *roles: str
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a route: a valid bearer token, and one of `roles` when given."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            token = bearer_token()
            if token is None:
                raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
            claims = verifier().verify(token)
            if roles and not claims.has_role(*roles):
                raise Forbidden()
            g.claims = claims
            return view(*args, **kwargs)

        return guarded

    return decorator
