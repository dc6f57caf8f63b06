"""The demo catalogue: real procedures, idempotent loading, the agencies CSV for identity."""

from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from services.catalog.app import build_context, create_app
from services.catalog.constants import NATIONAL
from services.catalog.demo import agencies_csv, demo_agencies, procedure_inputs
from services.core.contracts.catalog import PROCEDURE_EVENTS
from services.core.service import CONTEXT_KEY
from tests.catalog.conftest import CatalogDb, load_demo_into, outbox_count
from tests.support.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[2]


def test_demo_holds_forty_real_procedures_with_forms() -> None:
    national = procedure_inputs("", "national")
    codes = {data["code"] for _, data in national}
    assert len(codes) >= 40
    assert "1.001193" in codes
    forms = {data["code"] for _, data in national if data["form"]}
    assert {"1.001193", "1.000894", "1.000656", "1.004873", "2.000488"} <= forms
    for _, data in national:
        if data["form"]:
            Draft202012Validator.check_schema(data["form"])
        assert data["documents"], data["code"]
    assert {target for target, _ in national} == {NATIONAL, "38", "42"}
    assert {target for target, _ in procedure_inputs("42", "province")} == {"42"}


def test_agency_codes_have_the_shape_of_the_national_identifiers() -> None:
    agencies = demo_agencies()
    letters = {a.province: a.code.rsplit(".", 1)[1] for a in agencies if a.province}
    assert letters == {"38": "H56", "42": "H27"}
    for agency in agencies:
        parts = agency.code.split(".")
        assert [len(p) for p in parts] == [3, 2, 2, 3], agency.code
    committed = (ROOT / "deploy" / "demo" / "agencies.csv").read_text(encoding="utf-8")
    assert committed == agencies_csv()


def test_loading_twice_changes_nothing_and_emits_no_duplicate_events(
    catalog_db: CatalogDb, tokens: TokenFactory
) -> None:
    database = catalog_db.open(role="national", province="")
    first = load_demo_into(database, "national", "")
    assert first["catalog.procedure.published"] == outbox_count(database) >= 80
    assert load_demo_into(database, "national", "") == {}
    assert outbox_count(database) == first["catalog.procedure.published"]
    database.engine.dispose()

    # The national union holds each province's copy; a bare code must say which.
    app = create_app(build_context(catalog_db.settings("national", ""), verifier=tokens.verifier()))
    client = app.test_client()
    ambiguous = client.get("/api/catalog/procedures/1.001193")
    assert ambiguous.status_code == 409
    assert ambiguous.get_json()["code"] == "procedure_ambiguous"
    assert ambiguous.get_json()["provinces"] == ["38", "42"]
    chosen = client.get("/api/catalog/procedures/1.001193", query_string={"province": "42"})
    assert {a["province"] for a in chosen.get_json()["agencies"]} == {"42"}
    national = client.get("/api/catalog/procedures/2.002150").get_json()
    assert national["province"] == ""
    found = client.get("/api/catalog/procedures", query_string={"q": "khai sinh", "province": "42"})
    assert {item["province"] for item in found.get_json()["items"]} == {"42"}
    app.extensions[CONTEXT_KEY].database.engine.dispose()


def test_every_published_event_is_documented() -> None:
    readme = (ROOT / "services" / "catalog" / "README.md").read_text(encoding="utf-8")
    for event_type in PROCEDURE_EVENTS:
        assert f"`{event_type}`" in readme
        assert f'"type": "{event_type}"' in readme  # an example payload of each
