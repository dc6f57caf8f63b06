"""A JSON body that is not an object is refused in one place, for every route of every app.

Built on core's app factory with routes that parse with a schema and routes that read
the body themselves: neither ever sees a list, a string, a number or malformed JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.core.bus import BusBase
from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_engine
from services.core.web import create_service_app

blp = Blueprint("shapes", __name__, url_prefix="/api/shapes")


class NoteIn(Schema):
    note = fields.String()


@blp.route("/with-schema", methods=["POST", "PUT", "PATCH"])
@blp.arguments(NoteIn)
def with_schema(body: dict[str, Any]) -> dict[str, Any]:
    return {"note": body.get("note")}


@blp.route("/by-hand", methods=["POST", "PUT", "PATCH", "DELETE"])
def by_hand() -> dict[str, Any]:
    # A route that reads the body itself, as if it could only be an object.
    return {"note": (request.get_json(silent=True) or {}).get("note")}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    settings = ServiceSettings(
        service="shapes",
        database_url=f"sqlite:///{tmp_path}/shapes.db",
        bus=BusSettings(amqp_url="amqp://guest:guest@127.0.0.1:5672/%2F"),
    )
    engine = make_engine(settings.database_url)
    BusBase.metadata.create_all(engine)
    app: Flask = create_service_app(settings, title="Shapes", engine=engine, blueprints=[blp])
    yield app.test_client()
    engine.dispose()


NOT_OBJECTS = [b"[]", b'[{"note": "x"}]', b'"note"', b"42", b"-1.5e3", b"true", b"null"]


@pytest.mark.parametrize("path", ["/api/shapes/with-schema", "/api/shapes/by-hand"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_json_body_that_is_not_an_object_is_a_422(
    client: FlaskClient, path: str, method: str, raw: bytes
) -> None:
    r = client.open(path, method=method, data=raw, content_type="application/json")
    assert r.status_code == 422, r.data
    assert r.content_type == "application/problem+json"
    assert r.json is not None and r.json["code"] == "validation_error"
    assert r.json["errors"] == {"_schema": ["Invalid input type."]}


@pytest.mark.parametrize("path", ["/api/shapes/with-schema", "/api/shapes/by-hand"])
@pytest.mark.parametrize("raw", [b"{", b'{"note": }', b"\xff\xfe", b"[1,"])
def test_malformed_json_is_a_400_whether_or_not_the_route_has_a_schema(
    client: FlaskClient, path: str, raw: bytes
) -> None:
    r = client.post(path, data=raw, content_type="application/json")
    assert r.status_code == 400, r.data
    assert r.json is not None and r.json["code"] == "validation_error"


def test_the_json_suffix_types_are_checked_too(client: FlaskClient) -> None:
    r = client.delete(
        "/api/shapes/by-hand", data=b"[1]", content_type="application/merge-patch+json"
    )
    assert r.status_code == 422


def test_objects_and_empty_bodies_pass(client: FlaskClient) -> None:
    ok = client.post("/api/shapes/by-hand", json={"note": "ghi chú"})
    assert ok.status_code == 200 and ok.json == {"note": "ghi chú"}
    empty = client.post("/api/shapes/by-hand", data=b"", content_type="application/json")
    assert empty.status_code == 200
    form = client.post("/api/shapes/by-hand", data={"note": "x"})
    assert form.status_code == 200
