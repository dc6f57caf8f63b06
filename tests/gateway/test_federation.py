"""The national gateway's registry: provinces listed, citizens handed over, lookups routed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask

from gateway.app import create_app
from gateway.config import EXAMPLE_PROVINCES_FILE, GatewaySettings
from gateway.federation import ProvinceRegistry, dossier_unit, handover_url
from tests.gateway.conftest import EchoService, serve
from tests.support.tokens import TokenFactory


def registry_file(tmp_path: Path, thanh_hoa: str, ha_tinh: str) -> Path:
    path = tmp_path / "provinces.yaml"
    path.write_text(
        "provinces:\n"
        f'  - {{code: "38", name: Thanh Hóa, agency_unit: H56, base_url: "{thanh_hoa}/"}}\n'
        f'  - {{code: "42", name: Hà Tĩnh, agency_unit: H27, base_url: "{ha_tinh}"}}\n',
        encoding="utf-8",
    )
    return path


def national(local: str, registry: Path) -> Flask:
    upstreams = {name: local for name in ("identity", "catalog", "dossiers", "notify")}
    settings = GatewaySettings(upstreams=upstreams, role="national", provinces_file=registry)
    return create_app(settings, verifier=TokenFactory().verifier())


def test_the_deployed_registry_names_both_demo_provinces() -> None:
    registry = ProvinceRegistry.load(EXAMPLE_PROVINCES_FILE)
    assert [(p.code, p.name, p.agency_unit) for p in registry.provinces] == [
        ("38", "Thanh Hóa", "H56"),
        ("42", "Hà Tĩnh", "H27"),
    ]


def test_dossier_codes_name_their_agency_unit() -> None:
    assert dossier_unit("000.00.31.H56-261130-0001") == "H56"
    assert dossier_unit("000.00.12.G06-261130-0042") == "G06"
    assert dossier_unit("H56-261130-0001") is None
    assert dossier_unit("../../etc") is None


def test_provinces_are_listed_and_citizens_handed_over(tmp_path: Path) -> None:
    client = national(
        "http://127.0.0.1:9",
        registry_file(tmp_path, "https://dvc.thanhhoa.gov.vn", "https://dichvucong.hatinh.gov.vn"),
    ).test_client()
    listed = client.get("/api/provinces").json
    assert listed["total"] == 2
    assert listed["items"][0] == {
        "code": "38",
        "name": "Thanh Hóa",
        "agency_unit": "H56",
        "base_url": "https://dvc.thanhhoa.gov.vn",
    }
    moved = client.get("/go/38/thu-tuc/1.001193?agency=000.00.31.H56")
    assert moved.status_code == 302
    assert moved.headers["Location"] == (
        "https://dvc.thanhhoa.gov.vn/thu-tuc/1.001193?agency=000.00.31.H56"
    )
    # The path can never leave the province's host.
    province = ProvinceRegistry.load(tmp_path / "provinces.yaml").provinces[0]
    sneaky = handover_url(province, "//evil.example/x", "")
    assert sneaky == "https://dvc.thanhhoa.gov.vn/evil.example/x"
    assert client.get("/go/42").headers["Location"] == "https://dichvucong.hatinh.gov.vn/"
    unknown = client.get("/go/99/x")
    assert unknown.status_code == 404
    assert unknown.json["code"] == "province_unknown"


def test_lookup_by_code_is_answered_by_the_owning_province(
    tmp_path: Path, serve_gateway: Callable[[Flask], str]
) -> None:
    local, thanh_hoa, ha_tinh = EchoService(), EchoService(), EchoService()
    servers = [serve(s) for s in (local, thanh_hoa, ha_tinh)]
    try:
        app = national(servers[0].url, registry_file(tmp_path, servers[1].url, servers[2].url))
        client = app.test_client()
        answer = client.get("/api/dossiers/lookup?code=000.00.31.H56-261130-0001")
        assert answer.status_code == 200
        assert answer.json["query"] == "code=000.00.31.H56-261130-0001"
        assert answer.json["headers"]["X-Forwarded-For"] == "127.0.0.1"
        assert len(thanh_hoa.calls) == 1 and not ha_tinh.calls and not local.calls
        client.get("/api/dossiers/lookup?code=000.00.15.H27-261130-0002")
        assert len(ha_tinh.calls) == 1
        # A ministry's dossier, or a malformed code, is the national service's to answer.
        client.get("/api/dossiers/lookup?code=000.00.12.G06-261130-0001")
        client.get("/api/dossiers/lookup?code=nonsense")
        assert len(local.calls) == 2
        unknown = client.get("/api/dossiers/lookup?code=000.00.00.H99-261130-0001")
        assert unknown.status_code == 404
        assert unknown.json["code"] == "province_unknown"
    finally:
        for served in servers:
            served.server.shutdown()


def test_without_a_registry_the_portal_stands_alone() -> None:
    local = EchoService()
    served = serve(local)
    try:
        names = ("identity", "catalog", "dossiers", "notify")
        settings = GatewaySettings.from_env({f"GATEWAY_{n.upper()}_URL": served.url for n in names})
        assert settings.provinces_file is None
        client = create_app(settings, verifier=TokenFactory().verifier()).test_client()
        assert client.get("/api/provinces").json == {"items": [], "total": 0}
        assert client.get("/go/38/").status_code == 404
        # A provincial dossier code is looked up in the portal's own dossier service.
        answer = client.get("/api/dossiers/lookup?code=000.00.31.H56-261130-0001")
        assert answer.status_code == 200
        assert len(local.calls) == 1
    finally:
        served.server.shutdown()


def test_the_pages_learn_which_portal_they_are_on() -> None:
    def portal(**settings: object) -> dict[str, object]:
        app = create_app(GatewaySettings(**settings), verifier=TokenFactory().verifier())  # type: ignore[arg-type]
        answer = app.test_client().get("/api/portal")
        assert answer.status_code == 200
        return dict(answer.json)

    assert portal() == {"role": "national", "province": None, "name": "Cổng Dịch vụ công Quốc gia"}
    # A province's gateway has no registry of its own: the shipped one names it.
    assert portal(role="province", province="38") == {
        "role": "province",
        "province": "38",
        "name": "Cổng Dịch vụ công tỉnh Thanh Hóa",
    }
    assert portal(role="province", province="42")["name"] == "Cổng Dịch vụ công tỉnh Hà Tĩnh"
    assert portal(role="province", province="01")["name"] == "Cổng Dịch vụ công (tỉnh 01)"
    named = portal(role="province", province="38", portal_name="Cổng DVC Thanh Hóa")
    assert named["name"] == "Cổng DVC Thanh Hóa"
