"""The admin API: publish, update, withdraw; validation; versions; events in the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.core.contracts.catalog import (
    PROCEDURE_PUBLISHED,
    PROCEDURE_UPDATED,
    PROCEDURE_WITHDRAWN,
)
from services.core.service import CONTEXT_KEY
from tests.catalog.conftest import AppFactory, make_procedure, outbox_bodies, seed_references
from tests.support.tokens import TokenFactory

URL = "/api/catalog/procedures"


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    app = make_app(role="province", province="38")
    seed_references(app.extensions[CONTEXT_KEY].database)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin(tokens: TokenFactory) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(roles=('admin',), name='Quản trị')}"}


def events(app: Flask, event_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(body) for body in outbox_bodies(app.extensions[CONTEXT_KEY].database, event_type)
    ]


def test_publish_update_withdraw_bump_versions_and_emit_the_public_json(
    app: Flask, client: FlaskClient, admin: dict[str, str]
) -> None:
    created = client.post(URL, json=make_procedure(), headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["version"] == 1
    shown = client.get(f"{URL}/1.001193").get_json()
    (published,) = events(app, PROCEDURE_PUBLISHED)
    assert published["data"] == {"procedure": shown}
    assert published["subject"] == "1.001193"
    assert published["province"] == "38"
    assert shown["province"] == "38"
    assert shown["field"] == {"code": "ho-tich", "name": "Hộ tịch"}
    assert shown["agencies"][0]["code"] == "000.01.31.H56"
    assert shown["life_events"] == [
        {"code": "khai-sinh", "name": "Khai sinh", "audience": "citizen"}
    ]

    changed = make_procedure(processing_days=1, expected_version=1)
    updated = client.put(f"{URL}/1.001193", json=changed, headers=admin)
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["version"] == 2
    (update_event,) = events(app, PROCEDURE_UPDATED)
    assert update_event["data"] == {"procedure": client.get(f"{URL}/1.001193").get_json()}

    stale = client.put(f"{URL}/1.001193", json=changed, headers=admin)
    assert stale.status_code == 409
    assert stale.get_json()["code"] == "version_conflict"

    withdrawn = client.delete(f"{URL}/1.001193", headers=admin)
    assert withdrawn.get_json() == {"code": "1.001193", "version": 3, "province": "38"}
    (withdraw_event,) = events(app, PROCEDURE_WITHDRAWN)
    assert withdraw_event["data"] == {"procedure": withdrawn.get_json()}
    assert client.get(f"{URL}/1.001193").status_code == 404
    assert client.get(URL, query_string={"q": "khai sinh"}).get_json()["total"] == 0
    assert client.delete(f"{URL}/1.001193", headers=admin).status_code == 404

    again = client.post(URL, json=make_procedure(), headers=admin)
    assert again.get_json()["version"] == 4
    assert client.get(URL, query_string={"q": "khai sinh"}).get_json()["total"] == 1
    duplicate = client.post(URL, json=make_procedure(), headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.get_json()["code"] == "procedure_exists"


def test_admin_calls_need_an_admin_token(
    client: FlaskClient, tokens: TokenFactory, app: Flask
) -> None:
    assert client.post(URL, json=make_procedure()).status_code == 401
    citizen = {"Authorization": f"Bearer {tokens.issue(roles=('citizen',))}"}
    forbidden = client.post(URL, json=make_procedure(), headers=citizen)
    assert forbidden.status_code == 403
    assert forbidden.get_json()["code"] == "forbidden"
    stranger = TokenFactory().issue(roles=("admin",))
    refused = client.post(
        URL, json=make_procedure(), headers={"Authorization": f"Bearer {stranger}"}
    )
    assert refused.status_code == 401
    assert refused.get_json()["code"] == "invalid_token"
    assert events(app, PROCEDURE_PUBLISHED) == []


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"code": "khai-sinh"}, "validation_error", "code"),
        ({"name": ""}, "validation_error", "name"),
        ({"service_level": "level4"}, "validation_error", "service_level"),
        ({"result_delivery": ["email"]}, "validation_error", "result_delivery"),
        ({"result_delivery": []}, "validation_error", "result_delivery"),
        ({"processing_days": -1}, "validation_error", "processing_days"),
        ({"agencies": []}, "validation_error", "agencies"),
        ({"fees": [{"name": "Lệ phí", "amount": -5}]}, "validation_error", "fees"),
        ({"field": "khong-co"}, "unknown_field", "field"),
        ({"life_events": ["khong-co"]}, "unknown_life_event", "life_events"),
        ({"agencies": ["000.09.09.H56"]}, "unknown_agency", "agencies"),
        ({"agencies": ["000.01.31.H27"]}, "agency_outside_province", "agencies"),
        ({"form": {"type": "objekt"}}, "invalid_form_schema", "form"),
        ({"form": {"type": "string"}}, "invalid_form_schema", "form"),
        (
            {"documents": [{"code": "a", "name": "A"}, {"code": "a", "name": "B"}]},
            "duplicate_document",
            "documents",
        ),
    ],
)
def test_invalid_procedures_are_refused_with_stable_codes(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    response = client.post(URL, json=make_procedure(**changes), headers=admin)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == code
    assert field in body["errors"]
    assert events(app, PROCEDURE_PUBLISHED) == []


def test_malformed_bodies_and_unknown_codes_are_problems(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    not_json = client.post(URL, data="{", headers={**admin, "Content-Type": "application/json"})
    assert not_json.status_code in (400, 422)
    assert not_json.mimetype == "application/problem+json"
    missing = client.put(f"{URL}/1.000001", json=make_procedure(code="1.000001"), headers=admin)
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "procedure_not_found"
    mismatch = client.put(f"{URL}/1.000001", json=make_procedure(), headers=admin)
    assert mismatch.get_json()["code"] == "code_mismatch"
    huge = client.post(URL, json=make_procedure(description="x" * 600_000), headers=admin)
    assert huge.status_code == 413
