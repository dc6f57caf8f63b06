"""Rate limits on the sensitive public calls, per client IP (flask-limiter).

Each limited call gets its own route (same proxy view) so its limit counts only
those calls; storage is in memory per process by default, Redis (shared by every
gateway process) when RATELIMIT_STORAGE_URI says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit

from gateway.config import DEFAULT_RATE_LIMITS, GatewaySettings
from services.core.problems import problem_response

# limit name -> (methods, URL rules) of the calls it counts.
LIMITED_ROUTES: dict[str, tuple[list[str], list[str]]] = {
    "registration": (["POST"], ["/api/identity/registrations"]),
    "login": (["POST"], ["/api/identity/logins"]),
    "password_reset": (["POST"], ["/api/identity/password-resets"]),
    "otp": (
        ["POST"],
        [
            "/api/identity/<any(registrations, logins, 'password-resets'):flow>"
            "/<flow_id>/otp/<any(verify, resend):step>",
            "/api/identity/logins/<flow_id>/phone-change",
            "/api/identity/logins/<flow_id>/phone-change/verify",
            "/api/identity/logins/<flow_id>/phone-change/otp/resend",
        ],
    ),
    "lookup": (["GET"], ["/api/dossiers/lookup"]),
    # Anonymous filing: a body from anyone, no login.
    "anonymous": (["POST"], ["/api/dossiers/anonymous"]),
    # Adding an OTP phone texts the number given.
    "otp_phones": (
        ["POST"],
        ["/api/identity/me/otp-phones", "/api/identity/me/otp-phones/<flow_id>/verify"],
    ),
    "refresh": (["POST"], ["/api/identity/tokens/refresh"]),
    "logout": (["POST"], ["/api/identity/logout"]),
    "complete": (
        ["POST"],
        ["/api/identity/<any(registrations, 'password-resets'):flow>/<flow_id>/complete"],
    ),
    # The flow state the pages follow while an OTP is on its way (polled).
    "otp_state": (
        ["GET"],
        [
            "/api/identity/<any(registrations, logins, 'password-resets'):flow>/<flow_id>/otp",
            "/api/identity/logins/<flow_id>/phone-change/otp",
        ],
    ),
}


def client_ip() -> str:
    """The caller's address (ProxyFix has applied GATEWAY_TRUSTED_PROXIES)."""
    return request.remote_addr or "-"


def _too_many(limit: RequestLimit) -> Response:
    reset_time = limit.window[0]
    retry_after = min(limit.limit.get_expiry(), max(1, math.ceil(reset_time - time.time())))
    return problem_response(
        429,
        "rate_limited",
        headers={"Retry-After": str(retry_after)},
        extra={"retry_after": retry_after},
    )


def build_limiter(app: Flask, settings: GatewaySettings) -> Limiter:
    return Limiter(
        client_ip,
        app=app,
        storage_uri=settings.ratelimit_storage_uri,
        strategy="moving-window",
        headers_enabled=False,
        key_prefix="gateway",
        on_breach=_too_many,
        # A storage outage must not close the door: limits fall back to memory.
        swallow_errors=True,
        in_memory_fallback_enabled=settings.ratelimit_storage_uri != "memory://",
    )


def register_limited_routes(
    app: Flask,
    limiter: Limiter,
    settings: GatewaySettings,
    make_view: Callable[[str], Callable[..., Response]],
    skip: set[str] | None = None,
) -> None:
    """One route per limited call, proxied like any other, counted by its limit."""
    for name, (methods, rules) in LIMITED_ROUTES.items():
        if name in (skip or set()):
            continue
        limit = settings.rate_limits.get(name) or DEFAULT_RATE_LIMITS[name]
        view = limiter.limit(limit, scope=name, methods=methods)(make_view(name))
        for index, rule in enumerate(rules):
            endpoint = f"limited_{name}_{index}"
            app.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=methods)
