"""Searching the demo catalogue over HTTP, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.catalog.app import build_context, create_app
from services.catalog.config import CatalogSettings
from services.catalog.folding import folded_words
from services.core.service import CONTEXT_KEY
from tests.catalog.conftest import CatalogDb
from tests.support.tokens import TokenFactory

URL = "/api/catalog/procedures"


@pytest.fixture(scope="module")
def client(demo_db: CatalogDb, tokens: TokenFactory) -> Iterator[FlaskClient]:
    limits = CatalogSettings(max_per_page=25)
    app = create_app(build_context(demo_db.settings(), limits, verifier=tokens.verifier()))
    yield app.test_client()
    app.extensions[CONTEXT_KEY].database.engine.dispose()


def search(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get(URL, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def codes(page: dict[str, Any]) -> list[str]:
    return [item["code"] for item in page["items"]]


@pytest.mark.parametrize(
    "q", ["khai sinh", "Khai Sinh", "đăng ký khai sinh", "dang ky khai sinh", "KHAI SINH dang"]
)
def test_birth_registration_is_found_with_or_without_diacritics(
    client: FlaskClient, q: str
) -> None:
    page = search(client, q=q)
    assert codes(page)[0] == "1.001193"
    assert all("sinh" in item["name"].lower() for item in page["items"][:3])


def test_words_in_any_order_find_the_same_procedures(client: FlaskClient) -> None:
    forward = search(client, q="ho kinh doanh", per_page=25)
    backward = search(client, q="kinh hộ doanh", per_page=25)
    assert forward["total"] == backward["total"] >= 4
    assert set(codes(forward)) == set(codes(backward))


def test_name_matches_rank_before_description_matches(client: FlaskClient) -> None:
    # "Bảo hiểm y tế" appears in one name; "quốc gia" in that name's description only.
    page = search(client, q="bao hiem y te", per_page=25)
    assert codes(page)[0] == "1.000684"
    # "giấy chứng nhận" is in some names and only in the descriptions of others.
    page = search(client, q="giay chung nhan", per_page=25)
    names = [_in_name(["giay", "chung", "nhan"], item["name"]) for item in page["items"]]
    assert names == sorted(names, reverse=True)
    assert names[0] and not names[-1]


def _in_name(words: list[str], name: str) -> bool:
    """Every word begins some word of the folded name (the index's prefix semantics)."""
    return all(any(w.startswith(q) for w in folded_words(name)) for q in words)


def test_the_last_word_may_be_unfinished(client: FlaskClient) -> None:
    assert codes(search(client, q="dang ky khai si"))[0] == "1.001193"
    assert search(client, q="khai s")["total"] >= search(client, q="khai sinh")["total"]


def test_a_procedure_code_finds_that_procedure(client: FlaskClient) -> None:
    assert codes(search(client, q="2.000488")) == ["2.000488"]


def test_filters_combine_with_words_and_pagination(client: FlaskClient) -> None:
    commune = search(client, q="dang ky", level="commune", per_page=25)
    assert commune["total"] > 0
    district = search(client, q="dang ky", level="district", per_page=25)
    assert set(codes(commune)).isdisjoint({"2.000720"})
    assert "2.000720" in codes(district)
    by_agency = search(client, agency="000.00.15.H56")
    assert set(codes(by_agency)) == {"2.000488", "2.000505"}
    by_event = search(client, life_event="thanh-lap-ho-kinh-doanh")
    assert codes(by_event) == ["2.000720"]
    full = search(client, field="ho-kinh-doanh", online="full")
    assert full["total"] == 4
    assert search(client, field="ho-kinh-doanh", online="partial")["total"] == 0
    assert search(client, province="42")["total"] == 0
    first = search(client, per_page=10, page=1)
    second = search(client, per_page=10, page=2)
    assert first["total"] == second["total"] == 39
    assert set(codes(first)).isdisjoint(codes(second))
    assert len(codes(first)) == 10


def test_a_page_past_the_end_still_tells_the_total(client: FlaskClient) -> None:
    for params in ({}, {"q": "dang ky", "level": "commune"}, {"q": "khai sinh"}):
        everything = search(client, per_page=10, **params)
        past = search(client, per_page=10, page=50, **params)
        assert everything["total"] > 0
        assert past["total"] == everything["total"]
        assert past["items"] == []


def test_per_page_is_capped(client: FlaskClient) -> None:
    page = search(client, per_page=1000)
    assert page["per_page"] == 25
    assert len(page["items"]) == 25


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"colour": "red"}, 400, "unknown_filter"),
        ({"agency": "000.99.99.H99"}, 422, "unknown_agency"),
        ({"field": "khong-co"}, 422, "unknown_field"),
        ({"life_event": "khong-co"}, 422, "unknown_life_event"),
        ({"level": "village"}, 422, "validation_error"),
        ({"online": "yes"}, 422, "validation_error"),
        ({"page": "0"}, 422, "validation_error"),
        ({"per_page": "abc"}, 422, "validation_error"),
        ({"province": "Thanh Hóa"}, 422, "validation_error"),
        ({"q": "a " * 150}, 422, "query_too_long"),
        ({"q": "mot hai ba bon nam sau bay tam chin"}, 422, "query_too_long"),
    ],
)
def test_bad_searches_get_problem_codes(
    client: FlaskClient, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get(URL, query_string=params)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code


def test_reference_lists_and_procedure_detail(client: FlaskClient) -> None:
    agencies = client.get("/api/catalog/agencies", query_string={"parent": "000.00.31.H56"})
    assert [a["level"] for a in agencies.get_json()["items"]] == ["commune", "commune"]
    ministries = client.get("/api/catalog/agencies", query_string={"level": "ministry"})
    assert ministries.get_json()["total"] >= 5
    assert client.get("/api/catalog/agencies?parent=nope").get_json()["code"] == "unknown_agency"
    fields = client.get("/api/catalog/fields").get_json()
    assert {"code": "ho-tich", "name": "Hộ tịch"} in fields["items"]
    events = client.get("/api/catalog/life-events").get_json()
    assert {"code": "khai-sinh", "name": "Khai sinh", "audience": "citizen"} in events["items"]
    detail = client.get(f"{URL}/1.001193").get_json()
    assert detail["province"] == "38"
    assert detail["form"]["title"] == "Tờ khai đăng ký khai sinh"
    assert {a["level"] for a in detail["agencies"]} == {"commune"}
    assert detail["documents"][0]["code"] == "to-khai-dang-ky-khai-sinh"
    missing = client.get(f"{URL}/9.999999")
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "procedure_not_found"
    assert client.get("/api/catalog/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "q",
    ['"AND OR NOT * ( ) : ^', "khai' OR 1=1 --", "NEAR(khai sinh)", "💡 đ", "   ", "a:* & b"],
)
def test_search_syntax_of_the_engines_cannot_be_injected(client: FlaskClient, q: str) -> None:
    page = search(client, q=q)
    assert isinstance(page["total"], int)
    assert page["page"] == 1
