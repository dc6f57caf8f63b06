"""The gateway: the one public door of a deployment.

It serves the web pages (web/ at the repository root, or GATEWAY_WEB_DIR) at /,
passes /api/<service>/... to that service through pooled keep-alive connections
(each body received whole first), checks bearer tokens on the calls that need a
login, rate-limits the sensitive public calls,
merges the services' OpenAPI documents, and, on the national portal, knows the
provincial portals: it lists them, hands citizens over, routes dossier lookups.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response, request, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.config import EXAMPLE_PROVINCES_FILE, GatewaySettings
from gateway.edge import install_edge
from gateway.fastpath import FastPath
from gateway.federation import ProvinceRegistry, dossier_unit, handover_url, portal_name
from gateway.limits import build_limiter, register_limited_routes
from gateway.upstreams import Gateway
from services.core.auth import TokenVerifier
from services.core.config import ConfigError
from services.core.metrics import exposition
from services.core.problems import (
    NotFound,
    Problem,
    code_for_status,
    from_problem,
    problem_response,
)

log = logging.getLogger(__name__)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _path_and_query() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _names(registry: ProvinceRegistry) -> ProvinceRegistry:
    """A province's own gateway holds no registry: names come from the shipped one."""
    if registry.provinces:
        return registry
    try:
        return ProvinceRegistry.load(EXAMPLE_PROVINCES_FILE)
    except ConfigError:  # not in this installation (the container image)
        return ProvinceRegistry(())


def create_app(
    settings: GatewaySettings | None = None, verifier: TokenVerifier | None = None
) -> Flask:
    """The gateway app; `settings` from the environment when not given."""
    settings = settings or GatewaySettings.from_env()
    gateway = Gateway(settings, verifier)
    app = Flask("gateway", static_folder=None)
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = None  # the proxy checks sizes itself, streaming
    app.extensions["gateway"] = gateway
    install_edge(app, settings, gateway.verifier)

    def proxy_view(_name: str = "api") -> Callable[..., Response]:
        def proxy(service: str | None = None, **_: Any) -> Response:
            name = service or request.path.split("/")[2]
            upstream = gateway.upstreams.get(name)
            if upstream is None:
                raise NotFound()
            return gateway.forward(upstream, name, _path_and_query())

        proxy.__name__ = f"proxy_{_name}"
        return proxy

    limiter = build_limiter(app, settings)
    app.extensions["gateway_limiter"] = limiter
    if settings.role == "national":
        app.add_url_rule(
            "/api/dossiers/lookup",
            endpoint="national_lookup",
            view_func=limiter.limit(
                settings.rate_limits["lookup"], scope="lookup", methods=["GET"]
            )(lambda: national_lookup(gateway)),
            methods=["GET"],
        )
    skip = {"lookup"} if settings.role == "national" else set()
    register_limited_routes(app, limiter, settings, proxy_view, skip=skip)
    api = proxy_view()
    app.add_url_rule("/api/<service>", view_func=api, methods=_METHODS)
    app.add_url_rule("/api/<service>/<path:rest>", view_func=api, methods=_METHODS)

    @app.get("/api/openapi.json")
    def openapi() -> dict[str, Any]:
        return gateway.openapi.document()

    web_dir = settings.web_dir.resolve()
    docs_dir = web_dir / "docs"

    @app.get("/api/docs")
    def docs() -> Response:
        return send_from_directory(docs_dir, "index.html")

    @app.get("/api/docs/<name>")
    def docs_asset(name: str) -> Response:
        return send_from_directory(docs_dir, name)

    @app.get("/api/provinces")
    def provinces() -> dict[str, Any]:
        items = [p.as_json() for p in gateway.registry.provinces]
        return {"items": items, "total": len(items)}

    portal = {
        "role": settings.role,
        "province": settings.province or None,
        "name": settings.portal_name
        or portal_name(settings.role, settings.province, _names(gateway.registry)),
    }

    @app.get("/api/portal")
    def portal_info() -> dict[str, Any]:
        """Which portal this is, for the pages' header: national or a province's."""
        return portal

    @app.get("/go/<code>", defaults={"path": ""})
    @app.get("/go/<code>/<path:path>")
    def go(code: str, path: str) -> Response:
        province = gateway.registry.by_code(code)
        if province is None:
            raise NotFound("province_unknown", detail=f"no portal for province {code!r}")
        target = handover_url(province, path, request.query_string.decode("latin-1"))
        return Response(status=302, headers={"Location": target})

    @app.get("/")
    def index() -> Response:
        return send_from_directory(web_dir, "index.html")

    @app.get("/<path:name>")
    def web(name: str) -> Response:
        if name == "docs" or name.startswith("docs/"):
            raise NotFound()  # the API docs page lives at /api/docs
        return send_from_directory(web_dir, name)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway", "role": settings.role}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        checks = gateway.ready()
        ready = all(checks.values())
        return {"ready": ready, "checks": checks}, 200 if ready else 503

    may_scrape = metrics_guard(settings)

    @app.get("/metrics")
    def metrics() -> Response:
        if not may_scrape(request):
            raise NotFound()  # to anyone else the portal has no such page
        body, content_type = exposition()  # every gunicorn worker's counts together
        return Response(body, content_type=content_type)

    @app.errorhandler(Problem)
    def handle_problem(error: Problem) -> Response:
        return from_problem(error)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException) -> Response:
        if error.response is not None:  # e.g. the 429 the limiter built
            return error.response  # type: ignore[return-value]
        status = error.code or 500
        return problem_response(status, code_for_status(status))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.error("unhandled error", exc_info=error, extra={"path": request.path})
        return problem_response(500, "internal_error")

    # Plain proxied calls skip Flask; the proxy fix (when trusted) applies to both paths.
    app.wsgi_app = FastPath(app, gateway)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )
    return app


def metrics_guard(settings: GatewaySettings) -> Callable[[Request], bool]:
    """Who may read /metrics: a caller from GATEWAY_METRICS_ALLOW (its own address, after
    GATEWAY_TRUSTED_PROXIES) or one presenting GATEWAY_METRICS_TOKEN as a bearer token."""
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.metrics_allow]
    token = settings.metrics_token.encode()

    def allowed(req: Request) -> bool:
        if token:
            scheme, _, given = req.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token):
                return True
        try:
            address = ipaddress.ip_address(req.remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in networks)

    return allowed


def national_lookup(gateway: Gateway) -> Response:
    """A dossier code of a provincial agency is answered by that province's gateway.

    A national gateway without a registry is a standalone portal (`make run`): it holds
    every province's dossiers itself, so its own dossier service answers.
    """
    code = request.args.get("code", "")
    unit = dossier_unit(code)
    if unit is None or not unit.startswith("H") or not gateway.registry.provinces:
        return gateway.forward(gateway.upstreams["dossiers"], "dossiers", _path_and_query())
    province = gateway.registry.by_agency_unit(unit)
    if province is None:
        raise NotFound("province_unknown", detail=f"no portal for agency unit {unit}")
    upstream = gateway.province_gateways[province.code]
    return gateway.forward(upstream, f"province-{province.code}", _path_and_query())
