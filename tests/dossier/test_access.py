"""Who sees what: owners, officers of the agency, the public lookup; and what is missing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.core.config import BusSettings, ServiceSettings
from services.core.service import ServiceDatabase
from services.dossier.app import build_context, create_app
from services.dossier.config import DossierSettings
from services.dossier.models import Dossier
from tests.dossier.conftest import OTHER_AGENCY, PROCEDURE, Portal
from tests.support.tokens import TokenFactory

PERSONAL_KEYS = ("applicant", "owner", "form", "delivery", "account_id", "attachments")


def test_other_citizen_and_other_agency_get_404(portal: Portal) -> None:
    dossier_id = portal.ready()
    assert portal.submit(dossier_id).status_code == 200
    stranger = portal.auth(portal.tokens.issue())
    other_officer = portal.auth(portal.tokens.issue(roles=("officer",), agency=OTHER_AGENCY))
    c = portal.client
    for headers in (stranger, other_officer):
        r = c.get(f"/api/dossiers/{dossier_id}", headers=headers)
        assert r.status_code == 404 and r.json["code"] == "not_found"
    assert portal.act(dossier_id, "receive", headers=other_officer).status_code == 404
    r = c.post(f"/api/dossiers/{dossier_id}/receive", headers=portal.citizen)
    assert r.status_code == 403
    assert c.get(f"/api/dossiers/{dossier_id}").status_code == 401
    assert c.get("/api/dossiers", headers=stranger).json["total"] == 0
    queue = c.get("/api/dossiers?status=submitted", headers=portal.officer).json
    assert [d["id"] for d in queue["items"]] == [dossier_id]
    assert queue["counts"]["submitted"] == 1 and queue["items"][0]["overdue"] is False
    mine = c.get("/api/dossiers", headers=portal.citizen).json
    assert mine["total"] == 1 and mine["counts"]["submitted"] == 1


def test_public_lookup_shows_nothing_personal(portal: Portal) -> None:
    dossier_id = portal.ready()
    code = portal.submit(dossier_id).json["code"]
    r = portal.client.get(f"/api/dossiers/lookup?code={code}")
    assert r.status_code == 200
    assert r.json["status"] == "submitted" and r.json["procedure_name"] == "Đăng ký khai sinh"
    assert not any(key in r.json for key in PERSONAL_KEYS) and "id" not in r.json
    assert "Nguyễn Văn An" not in r.get_data(as_text=True)
    missing = portal.client.get("/api/dossiers/lookup?code=nope")
    assert missing.status_code == 404
    assert portal.client.get("/api/dossiers/lookup").json["code"] == "validation_error"


def test_submit_lists_exactly_what_is_missing(portal: Portal) -> None:
    dossier_id = portal.draft()
    assert portal.attach(dossier_id, "TK").status_code == 201
    r = portal.submit(dossier_id)
    assert r.status_code == 422 and r.json["code"] == "incomplete"
    assert r.json["missing"] == [
        {"kind": "field", "field": "applicant.full_name"},
        {"kind": "field", "field": "applicant.phone"},
        {"kind": "field", "field": "owner"},
        {"kind": "field", "field": "form.child_name"},
        {"kind": "field", "field": "form.date_of_birth"},
        {"kind": "field", "field": "delivery.method"},
        {"kind": "document", "code": "GCS", "name": "Giấy chứng sinh"},
    ]


def test_fill_validates_form_phone_and_delivery(portal: Portal) -> None:
    dossier_id = portal.draft()
    c = portal.client
    url = f"/api/dossiers/{dossier_id}"
    r = c.patch(url, json={"form": {"child_name": "", "weight_grams": 10}}, headers=portal.citizen)
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"form.child_name", "form.date_of_birth", "form.weight_grams"}
    # Several required fields missing at once: each is said once, not once per missing field.
    r = c.patch(url, json={"form": {}}, headers=portal.citizen)
    missing = {k: v for k, v in r.json["errors"].items() if "Thông tin bắt buộc." in v}
    assert {"form.child_name", "form.date_of_birth"} <= set(missing)
    assert all(v == ["Thông tin bắt buộc."] for v in missing.values()), missing
    r = c.patch(url, json={"applicant": {"full_name": "A", "phone": "123"}}, headers=portal.citizen)
    assert r.status_code == 422 and "applicant" in r.json["errors"]
    r = c.patch(url, json={"delivery": {"method": "post"}}, headers=portal.citizen)
    assert r.status_code == 422 and r.json["code"] == "validation_error"
    r = c.patch(
        url,
        json={"delivery": {"method": "post", "address": "12 Lê Lợi, Thanh Hóa"}},
        headers=portal.citizen,
    )
    assert r.status_code == 200 and r.json["delivery"]["method"] == "post"
    r = c.post(
        "/api/dossiers",
        json={"procedure_code": PROCEDURE, "agency_code": "999.99.99.H99"},
        headers=portal.citizen,
    )
    assert r.status_code == 422 and r.json["code"] == "agency_not_offering"
    r = c.post(
        "/api/dossiers",
        json={"procedure_code": "9.999", "agency_code": "x"},
        headers=portal.citizen,
    )
    assert r.status_code == 422 and r.json["code"] == "unknown_procedure"
    assert r.headers["Content-Type"] == "application/problem+json"


def test_openapi_and_public_rate_limit(
    database: ServiceDatabase, dossier_settings: DossierSettings, amqp_url: str
) -> None:
    settings = ServiceSettings(
        service="dossier", database_url="sqlite://", bus=BusSettings(amqp_url=amqp_url)
    )
    limited = replace(dossier_settings, lookup_rate_limit="2/minute")
    client = create_app(
        build_context(settings, limited, verifier=TokenFactory().verifier(), database=database)
    ).test_client()
    spec = client.get("/api/dossiers/openapi.json")
    assert spec.status_code == 200 and "/api/dossiers/{dossier_id}/submit" in spec.json["paths"]
    answers = [client.get("/api/dossiers/lookup?code=x").status_code for _ in range(3)]
    assert answers[:2] == [404, 404] and answers[2] == 429
    last = client.get("/api/dossiers/lookup?code=x", headers={"Accept-Language": "en"})
    assert last.json["code"] == "rate_limited" and int(last.headers["Retry-After"]) >= 1
    anonymous = spec.json["paths"]["/api/dossiers/anonymous"]["post"]
    assert "multipart/form-data" in anonymous["requestBody"]["content"]


def test_rate_limit_keys_on_the_gateway_forwarded_address(
    database: ServiceDatabase, dossier_settings: DossierSettings, amqp_url: str
) -> None:
    settings = ServiceSettings(
        service="dossier", database_url="sqlite://", bus=BusSettings(amqp_url=amqp_url)
    )
    limited = replace(dossier_settings, lookup_rate_limit="1/minute", trusted_proxies=1)
    client = create_app(
        build_context(settings, limited, verifier=TokenFactory().verifier(), database=database)
    ).test_client()

    def lookup(address: str) -> int:
        headers = {"X-Forwarded-For": f"6.6.6.6, {address}"}
        return client.get("/api/dossiers/lookup?code=x", headers=headers).status_code

    assert [lookup("10.0.0.1"), lookup("10.0.0.2"), lookup("10.0.0.1")] == [404, 404, 429]


def test_officer_queue_is_ordered_by_due_date_with_overdue_flags(
    portal: Portal, database: ServiceDatabase
) -> None:
    late, soon = portal.ready(), portal.ready()
    for dossier_id in (late, soon):
        assert portal.submit(dossier_id).status_code == 200
    with database.sessions() as session, session.begin():
        overdue = session.get(Dossier, soon)
        assert overdue is not None
        overdue.due_at = overdue.promised_at = datetime(2026, 1, 2, 10, tzinfo=UTC)
    queue = portal.client.get("/api/dossiers", headers=portal.officer).json
    assert [(d["id"], d["overdue"]) for d in queue["items"]] == [(soon, True), (late, False)]
    bad = portal.client.get("/api/dossiers?status=bogus", headers=portal.officer)
    assert bad.status_code == 422 and "status" in bad.json["errors"]
