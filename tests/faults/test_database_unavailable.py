"""A service whose database does not answer says so fast: 503 problem+json, no hang, no 500."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from flask_smorest import Blueprint
from sqlalchemy import text

from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_engine
from services.core.web import create_service_app

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/postgres"


def _app(url: str) -> Flask:
    settings = ServiceSettings(
        service="faulty", database_url=url, bus=BusSettings(amqp_url="amqp://127.0.0.1:1/")
    )
    engine = make_engine(url)
    blp = Blueprint("faulty", __name__, url_prefix="/api/faulty")

    @blp.route("/rows")
    def rows() -> dict[str, int]:
        with engine.connect() as conn:
            return {"one": int(conn.execute(text("SELECT 1")).scalar_one())}

    return create_service_app(settings, title="Faulty", engine=engine, blueprints=[blp])


def test_a_dead_database_is_a_fast_503_problem(tmp_path: Path) -> None:
    app = _app(UNREACHABLE)
    client = app.test_client()
    started = time.monotonic()
    answer = client.get("/api/faulty/rows")
    elapsed = time.monotonic() - started
    print(f"database down: {answer.status_code} in {elapsed * 1000:.0f} ms")
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["code"] == "database_unavailable"
    assert int(answer.headers["Retry-After"]) >= 1
    assert elapsed < 3


def test_error_responses_are_documented_as_problems() -> None:
    spec = _app(UNREACHABLE).test_client().get("/api/faulty/openapi.json").get_json()
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]
    assert "Problem" in default["content"]["application/problem+json"]["schema"]["$ref"]
    operation = spec["paths"]["/api/faulty/rows"]["get"]
    assert "default" in operation["responses"]
