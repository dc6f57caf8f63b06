"""Every body and query parameter of the dossier API goes through a schema: no 500."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.dossier.conftest import AGENCY, PDF, Portal


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01",
        "to=9999-12-31",
        "from=1899-12-31",
        "to=2200-01-01",
        f"agency={AGENCY}&from=0001-01-01&to=0001-01-02",
    ],
)
def test_statistics_refuse_dates_out_of_range(portal: Portal, query: str) -> None:
    r = portal.client.get(f"/api/dossiers/stats?{query}")
    assert r.status_code == 422, r.data
    assert r.content_type == "application/problem+json"
    assert r.json["code"] == "validation_error"
    assert set(r.json["errors"]) <= {"from", "to"}


def test_statistics_accept_the_range_edges(portal: Portal) -> None:
    r = portal.client.get("/api/dossiers/stats?from=1900-01-01&to=2199-12-31")
    assert r.status_code == 200, r.json
    assert r.json["total"] == 0


@pytest.mark.parametrize("body", [[], [1, 2], "note", 42, 1.5, True])
def test_return_result_refuses_a_body_that_is_not_an_object(portal: Portal, body: Any) -> None:
    dossier_id = portal.ready()
    assert portal.submit(dossier_id).status_code == 200
    portal.act(dossier_id, "receive")
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/return-result", json=body, headers=portal.officer
    )
    assert r.status_code == 422, r.data
    assert r.content_type == "application/problem+json"
    assert r.json["code"] == "validation_error"
    detail = portal.client.get(f"/api/dossiers/{dossier_id}", headers=portal.officer).json
    assert detail["status"] == "processing"


@pytest.mark.parametrize("note", [["x"], {"a": 1}, 7, "x" * 2001])
def test_return_result_refuses_a_note_of_the_wrong_shape(portal: Portal, note: Any) -> None:
    dossier_id = portal.ready()
    portal.submit(dossier_id)
    portal.act(dossier_id, "receive")
    r = portal.act(dossier_id, "return-result", {"note": note})
    assert r.status_code == 422 and r.json["code"] == "validation_error"
    assert "note" in r.json["errors"]


def test_malformed_json_is_refused_not_taken_for_an_empty_body(portal: Portal) -> None:
    dossier_id = portal.ready()
    portal.submit(dossier_id)
    portal.act(dossier_id, "receive")
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/return-result",
        data=b'{"note": ',
        content_type="application/json",
        headers=portal.officer,
    )
    assert r.status_code == 400 and r.json["code"] == "validation_error"
    detail = portal.client.get(f"/api/dossiers/{dossier_id}", headers=portal.officer).json
    assert detail["status"] == "processing"


@pytest.mark.parametrize("body", [[{"procedure_code": "x"}], "x", 3])
def test_anonymous_filing_refuses_a_body_that_is_not_an_object(portal: Portal, body: Any) -> None:
    r = portal.client.post("/api/dossiers/anonymous", json=body)
    assert r.status_code == 422 and r.json["code"] == "validation_error"


def test_a_too_long_document_code_is_refused_by_the_schema(portal: Portal) -> None:
    dossier_id = portal.draft()
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/attachments",
        data={"document_code": "T" * 65, "file": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
        headers=portal.citizen,
    )
    assert r.status_code == 422 and "document_code" in r.json["errors"]


def test_a_birth_date_out_of_range_is_refused(portal: Portal) -> None:
    dossier_id = portal.draft()
    r = portal.client.patch(
        f"/api/dossiers/{dossier_id}",
        json={"applicant": {"full_name": "An", "date_of_birth": "0001-01-01"}},
        headers=portal.citizen,
    )
    assert r.status_code == 422 and "applicant" in r.json["errors"]
