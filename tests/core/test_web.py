"""The app factory every service builds on: problems, request ids, health, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.core.bus import BusBase
from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_engine
from services.core.problems import Conflict, TooManyRequests, register_messages
from services.core.web import create_service_app

blp = Blueprint("sample", __name__, url_prefix="/api/sample")


class GreetingIn(Schema):
    name = fields.String(required=True)
    age = fields.Integer(required=True)


@blp.route("/greetings", methods=["POST"])
@blp.arguments(GreetingIn)
@blp.response(201, GreetingIn)
def greet(body: dict[str, object]) -> dict[str, object]:
    return body


@blp.route("/conflict", methods=["POST"])
def conflict() -> None:
    raise Conflict("sample_taken", detail="already there", hint="try another")


@blp.route("/limited", methods=["POST"])
def limited() -> None:
    raise TooManyRequests("otp_cooldown", retry_after=42)


@blp.route("/boom")
def boom() -> None:
    raise RuntimeError("secret internals")


register_messages(
    {
        "sample_taken": ("Đã có người dùng.", "Already taken."),
        "otp_cooldown": ("Vui lòng đợi.", "Wait."),
    }
)


@pytest.fixture
def app(tmp_path: object, amqp_url: str) -> Iterator[Flask]:
    settings = ServiceSettings(
        service="sample",
        database_url=f"sqlite:///{tmp_path}/sample.db",
        bus=BusSettings(amqp_url=amqp_url),
    )
    engine = make_engine(settings.database_url)
    BusBase.metadata.create_all(engine)
    yield create_service_app(settings, title="Sample service", engine=engine, blueprints=[blp])
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_validation_errors_are_problems_with_field_errors(client: FlaskClient) -> None:
    response = client.post("/api/sample/greetings", json={"name": "An", "age": "old"})
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["title"] == "Dữ liệu không hợp lệ."
    assert "age" in body["errors"]


def test_a_body_that_is_not_json_is_a_problem_not_a_500(client: FlaskClient) -> None:
    response = client.post("/api/sample/greetings", data=b"{nope", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


def test_domain_problems_keep_their_code_and_extras(client: FlaskClient) -> None:
    response = client.post("/api/sample/conflict", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "sample_taken"
    assert body["title"] == "Already taken."
    assert body["hint"] == "try another"
    assert response.headers["Content-Language"] == "en"


def test_limits_say_when_to_try_again(client: FlaskClient) -> None:
    response = client.post("/api/sample/limited")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"
    assert response.get_json()["retry_after"] == 42


def test_unexpected_errors_hide_their_internals(client: FlaskClient) -> None:
    response = client.get("/api/sample/boom")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/sample/nowhere", 404, "not_found"),
        ("get", "/api/sample/greetings", 405, "method_not_allowed"),
    ],
)
def test_http_errors_are_problems(
    client: FlaskClient, method: str, path: str, status: int, code: str
) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.get_json()["code"] == code


def test_request_id_is_kept_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] != "bad id with spaces"
    assert len(made.headers["X-Request-ID"]) == 36


def test_health_readiness_metrics_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": True, "broker": True}
    assert b"portal_http_requests_total" in client.get("/metrics").data
    spec = client.get("/api/sample/openapi.json").get_json()
    assert "/api/sample/greetings" in spec["paths"]


def test_readiness_fails_when_the_broker_is_away(tmp_path: object) -> None:
    settings = ServiceSettings(
        service="sample",
        database_url=f"sqlite:///{tmp_path}/away.db",
        bus=BusSettings(amqp_url="amqp://guest:guest@127.0.0.1:1/"),
    )
    engine = make_engine(settings.database_url)
    app = create_service_app(settings, title="Sample", engine=engine, blueprints=[])
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["broker"] is False
