"""What the gateway does to every request at the edge: request ids, security headers,
CORS, and the bearer check on the routes that need a logged-in caller."""

from __future__ import annotations

import re
import uuid

from flask import Flask, Request, Response, g, request

from gateway.config import GatewaySettings
from services.core.auth import JwksCache, TokenVerifier, bearer_token
from services.core.problems import Unauthorized

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Accept-Language, X-Request-ID"

# Calls of a logged-in caller only: (method or None for any, path pattern).
_PROTECTED: tuple[tuple[str | None, re.Pattern[str]], ...] = (
    (None, re.compile(r"^/api/identity/me(/.*)?$")),
    (None, re.compile(r"^/api/notify/inbox(/.*)?$")),
    (None, re.compile(r"^/api/dossiers/?$")),
    (None, re.compile(r"^/api/dossiers/(?!lookup/?$|stats/?$|anonymous/?$|openapi\.json$)[^/]+")),
    ("POST", re.compile(r"^/api/catalog/procedures/?$")),
    ("PUT", re.compile(r"^/api/catalog/procedures/[^/]+$")),
    ("DELETE", re.compile(r"^/api/catalog/procedures/[^/]+$")),
)


def edge_header_list(settings: GatewaySettings) -> list[tuple[str, str]]:
    """The security headers every answer of the edge carries (CSP when configured)."""
    headers = list(SECURITY_HEADERS.items())
    if settings.content_security_policy:
        headers.append(("Content-Security-Policy", settings.content_security_policy))
    return headers


def normal_path(path: str) -> str:
    """The path with runs of slashes made one: `/api/catalog//procedures` is
    `/api/catalog/procedures` for the routes, the limits and the services alike."""
    while "//" in path:
        path = path.replace("//", "/")
    return path


def needs_login(method: str, path: str) -> bool:
    """Does this call need a bearer token (refused at the edge without a valid one)?"""
    if method == "OPTIONS":
        return False
    return any(
        (wanted is None or wanted == method) and pattern.match(path)
        for wanted, pattern in _PROTECTED
    )


def edge_verifier(settings: GatewaySettings) -> TokenVerifier:
    """The shared verifier on identity's JWKS (and any other trusted issuer's)."""
    return TokenVerifier(
        JwksCache(url=settings.identity_jwks_url, timeout=settings.readiness_timeout),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        trusted={
            issuer: JwksCache(url=url, timeout=settings.readiness_timeout)
            for issuer, url in settings.trusted_issuers.items()
            if issuer != settings.token_issuer
        },
    )


def request_id_from(incoming: str) -> str:
    """The client's X-Request-ID when well-formed, else a new one."""
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def request_id_of(req: Request) -> str:
    return request_id_from(req.headers.get(REQUEST_ID_HEADER, ""))


def install_edge(
    app: Flask,
    settings: GatewaySettings,
    verifier: TokenVerifier,
) -> None:
    """Register the before/after hooks of the edge on the gateway app."""
    origins = set(settings.cors_origins)

    @app.before_request
    def assign_request_id() -> Response | None:
        request.request_id = request_id_of(request)  # type: ignore[attr-defined]
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            # A CORS preflight is answered here; the services never see it.
            return app.response_class(status=204)
        if needs_login(request.method, request.path):
            token = bearer_token()
            if token is None:
                raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
            g.claims = verifier.verify(token)
        return None

    @app.after_request
    def edge_headers(response: Response) -> Response:
        request_id = getattr(request, "request_id", None)
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.content_security_policy:
            response.headers.setdefault("Content-Security-Policy", settings.content_security_policy)
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.vary.add("Origin")
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
                response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response
