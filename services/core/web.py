"""The app factory every service's web process builds on.

It wires what all services share: the OpenAPI document at /api/<service>/openapi.json,
problem+json errors, X-Request-ID, JSON request logs, /healthz, /readyz and /metrics.
"""

from __future__ import annotations

import http
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pika
from flask import Blueprint, Flask, Response, g, request
from flask_smorest import Api, abort
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from services.core.bus.topology import connection_parameters
from services.core.config import BusSettings, ServiceSettings
from services.core.context import correlation_id_var
from services.core.db import ping
from services.core.metrics import HTTP_REQUESTS, HTTP_SECONDS, exposition
from services.core.problems import (
    PROBLEM_JSON,
    Problem,
    code_for_status,
    flatten_webargs_errors,
    from_problem,
    problem_response,
)

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# How long a client is told to wait when the database does not answer.
DATABASE_RETRY_AFTER = 2
# Every JSON body a service accepts is an object: its schemas say so, and routes read it
# as one. Anything else is refused before any route runs.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ProblemSchema(Schema):
    """RFC 9457 problem details as every service answers them (extra members allowed)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    code = fields.String(required=True)
    detail = fields.String()
    errors = fields.Dict()
    request_id = fields.String()
    retry_after = fields.Integer()


class PortalApi(Api):  # type: ignore[misc]
    """flask-smorest's Api answering every HTTP error as problem+json, and saying so."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # Error responses are documented as application/problem+json so that clients
        # (and schemathesis) can check them against the Problem schema.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            else:
                prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        errors = None
        if "errors" in data:
            errors = data["errors"]
        elif "messages" in data:
            errors = flatten_webargs_errors(data["messages"])
        code = code_for_status(status)
        if status == 422 or errors:
            code = "validation_error"
        detail = data.get("message") if isinstance(data.get("message"), str) else None
        return problem_response(
            status, code, detail=detail, errors=errors, headers=data.get("headers")
        )


class BrokerCheck:
    """Is a broker reachable (any node of AMQP_URL)? Cached for a few seconds so /readyz
    stays cheap."""

    def __init__(self, settings: BusSettings, ttl: float = 5.0) -> None:
        self.settings = settings
        self.ttl = ttl
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._ok = False

    def __call__(self) -> bool:
        with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._ok
            try:
                # Any node of the cluster will do: pika tries each in turn.
                params = connection_parameters(self.settings)
                for each in params:
                    each.socket_timeout = 2
                with pika.BlockingConnection(params):
                    self._ok = True
            except Exception:
                self._ok = False
            self._checked_at = time.monotonic()
            return self._ok


def database_unreachable(error: BaseException) -> bool:
    """Is this the database being down or saturated, rather than a bug?"""
    if isinstance(error, sa_exc.TimeoutError | sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


def refuse_json_that_is_not_an_object() -> None:
    """A JSON body must parse and be an object, on every route of every service.

    Malformed JSON is a 400 and any other JSON value (a list, a string, a number, null)
    a 422, both `validation_error` and shaped as the schemas' own refusals, so that no
    route ever receives a body of the wrong type, whether it parses with a schema or not.
    """
    if request.method not in BODY_METHODS or not request.is_json:
        return
    raw = request.get_data(cache=True)
    if not raw.strip():
        return
    try:
        body = request.get_json(force=True, silent=False, cache=True)
    except HTTPException:
        abort(400, messages={"json": ["Invalid JSON body."]})
    if not isinstance(body, dict):
        abort(422, messages={"json": {"_schema": ["Invalid input type."]}})


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    engine: Engine,
    blueprints: Iterable[Blueprint],
    max_content_length: int = 1024 * 1024,
    max_json_length: int | None = None,
    readiness: dict[str, Callable[[], bool]] | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """A Flask app for one service with its blueprints and the shared plumbing."""
    service = settings.service
    app = Flask(f"services.{service}")
    app.url_map.strict_slashes = False
    app.config.update(
        API_TITLE=title,
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/api/{service}",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=max_content_length,
        JSON_SORT_KEYS=False,
        PORTAL_SETTINGS=settings,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(config or {})
    api = PortalApi(
        app, spec_kwargs={"info": {"description": f"{title} of the public-service portal"}}
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.extensions["portal_api"] = api

    checks: dict[str, Callable[[], bool]] = {
        "database": lambda: ping(engine),
        "broker": BrokerCheck(settings.bus),
    }
    checks.update(readiness or {})

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        request.request_id = request_id  # type: ignore[attr-defined]
        g.correlation_token = correlation_id_var.set(request_id)
        g.started = time.perf_counter()
        # Only file uploads may use the whole body limit; anything else is parsed in memory.
        if max_json_length is not None and request.mimetype != "multipart/form-data":
            request.max_content_length = max_json_length

    @app.before_request
    def refuse_non_object_json() -> None:
        refuse_json_that_is_not_an_object()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = getattr(request, "request_id", None)
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        started = g.get("started")
        if started is not None:
            elapsed = time.perf_counter() - started
            HTTP_SECONDS.labels(service).observe(elapsed)
            HTTP_REQUESTS.labels(service, request.method, str(response.status_code)).inc()
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 2)},
            )
        return response

    @app.teardown_request
    def reset_request_id(_error: BaseException | None) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            correlation_id_var.reset(token)

    @app.errorhandler(Problem)
    def handle_problem(error: Problem) -> Response:
        return from_problem(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return api.handle_http_exception(error)
        if isinstance(error, RecursionError):
            # A body nested deeper than the parser's recursion limit: bad input, not a bug.
            return problem_response(400, "bad_request", detail="the body is nested too deeply")
        if database_unreachable(error):
            log.warning("database unavailable", extra={"path": request.path, "error": str(error)})
            return problem_response(
                503,
                "database_unavailable",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
                extra={"retry_after": DATABASE_RETRY_AFTER},
            )
        log.error("unhandled error", exc_info=error, extra={"path": request.path})
        return problem_response(500, "internal_error")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz")
    def readyz() -> tuple[dict[str, Any], int]:
        results = {name: check() for name, check in checks.items()}
        return {"ready": all(results.values()), "checks": results}, 200 if all(
            results.values()
        ) else 503

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, content_type=content_type)

    return app
