"""A national portal and two provinces (38, 42) federated on this machine.

The provinces' catalogues reach the national one by the broker's shovel; a citizen
logs in nationally, is handed over to Thanh Hóa, files there with the national
token, and the national lookup answers for the province; with the national side
down, the province still serves that citizen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import requests

from harness.journey import PortalClient, Subscriber
from tests.support.federation import Federation, running_federation

T = TypeVar("T")
CITIZEN = Subscriber(
    phone="0912345678",
    citizen_id="038085001234",
    full_name="Nguyễn Văn An",
    date_of_birth="1985-03-12",
)
PASSWORD = "Khai-Sinh-2026-an!"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Federation]:
    with running_federation(tmp_path_factory.mktemp("federation"), amqp_url) as running:
        yield running


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def union_codes(api: str, province: str) -> set[str]:
    answer = requests.get(
        f"{api}/catalog/procedures", params={"province": province, "per_page": 100}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {item["code"] for item in answer.json()["items"]}


def test_the_national_catalog_is_the_union_of_the_provinces(federation: Federation) -> None:
    national = f"{federation.national.gateway_url}/api"
    for code, province in federation.provinces.items():
        own = union_codes(f"{province.gateway_url}/api", code)
        assert own, f"province {code} has no demo catalogue"
        eventually(
            lambda code=code, own=own: union_codes(national, code) >= own,  # type: ignore[misc]
            timeout=45,
            what=f"province {code}'s procedures in the national catalogue",
        )
    # The national API document merges the services running there (no dossier service).
    document = requests.get(f"{national}/openapi.json", timeout=20).json()
    assert "/api/catalog/procedures" in document["paths"]
    assert "/api/identity/registrations" in document["paths"]
    assert document["x-unavailable"] == ["dossiers"]
    shovels = federation.broker.shovels(federation.broker.vhost("national"))
    assert {s["name"]: s["state"] for s in shovels} == {
        "catalog-from-38": "running",
        "catalog-from-42": "running",
    }


def national_login(gateway_url: str) -> str:
    """Register with the carrier-verified phone, then log in with password and OTP."""
    client = PortalClient(gateway_url)
    client.register(CITIZEN, PASSWORD)
    return str(client.login(CITIZEN.citizen_id, CITIZEN.phone, PASSWORD)["access_token"])


def sample(schema: dict[str, Any]) -> Any:
    """A minimal value valid for a demo declaration schema (required parts only)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}))] * max(1, schema.get("minItems", 0))
    if kind == "integer" or kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return "2026-11-01"
    pattern = schema.get("pattern", "")
    if digits := re.fullmatch(r"\^\[0-9\]\{(\d+)\}\$", pattern):
        return "0" * int(digits.group(1))
    return "Nguyễn Văn Bình"


def test_a_citizen_logged_in_nationally_files_in_thanh_hoa(federation: Federation) -> None:
    national = f"{federation.national.gateway_url}/api"
    token = national_login(federation.national.gateway_url)
    bearer = {"Authorization": f"Bearer {token}"}

    found = eventually(
        lambda: requests.get(
            f"{national}/catalog/procedures",
            params={"q": "khai sinh", "province": "38"},
            timeout=10,
        ).json()["items"],
        timeout=45,
        what="the Thanh Hóa birth registration in the national catalogue",
    )
    procedure = found[0]["code"]
    # The national portal hands the citizen over to the province executing it.
    handover = requests.get(
        f"{federation.national.gateway_url}/go/38/thu-tuc/{procedure}",
        allow_redirects=False,
        timeout=10,
    )
    assert handover.status_code == 302
    province = federation.provinces["38"]
    assert handover.headers["Location"] == f"{province.gateway_url}/thu-tuc/{procedure}"

    # In Thanh Hóa, with the national token: no second login.
    api = f"{province.gateway_url}/api"
    detail = requests.get(f"{api}/catalog/procedures/{procedure}", timeout=10).json()
    agency = next(a["code"] for a in detail["agencies"] if a["code"].endswith(".H56"))
    draft = eventually(
        lambda: (
            (
                r := requests.post(
                    f"{api}/dossiers",
                    json={"procedure_code": procedure, "agency_code": agency},
                    headers=bearer,
                    timeout=10,
                )
            ).status_code
            == 201
            and r
        ),
        what="a draft in province 38 (its read copy of the catalogue)",
    )
    dossier = draft.json()["id"]
    filled = requests.patch(
        f"{api}/dossiers/{dossier}",
        json={
            "applicant": {
                "full_name": CITIZEN.full_name,
                "phone": CITIZEN.phone,
                "citizen_id": CITIZEN.citizen_id,
            },
            "owner_same_as_applicant": True,
            "form": sample(detail["form"]),
            "delivery": {"method": "online"},
        },
        headers=bearer,
        timeout=10,
    )
    assert filled.status_code == 200, filled.text
    for document in detail["documents"]:
        if document["required"]:
            attached = requests.post(
                f"{api}/dossiers/{dossier}/attachments",
                data={"document_code": document["code"]},
                files={"file": ("giay-to.pdf", PDF, "application/pdf")},
                headers=bearer,
                timeout=10,
            )
            assert attached.status_code == 201, attached.text
    submitted = requests.post(f"{api}/dossiers/{dossier}/submit", headers=bearer, timeout=10)
    assert submitted.status_code == 200, submitted.text
    code = submitted.json()["code"]
    assert code.startswith(agency + "-")

    # The national lookup by code is answered by Thanh Hóa.
    looked_up = requests.get(f"{national}/dossiers/lookup", params={"code": code}, timeout=10)
    assert looked_up.status_code == 200, looked_up.text
    assert looked_up.json()["status"] == "submitted"
    unknown = requests.get(
        f"{national}/dossiers/lookup", params={"code": "000.00.00.H99-261130-0001"}, timeout=10
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "province_unknown"

    # The national deployment goes down: Thanh Hóa keeps serving (keys cached).
    federation.national.stop()
    mine = requests.get(f"{api}/dossiers", headers=bearer, timeout=10)
    assert mine.status_code == 200, mine.text
    assert [d["code"] for d in mine.json()["items"]] == [code]
    assert requests.get(f"{api}/dossiers/lookup", params={"code": code}, timeout=10).ok
    assert requests.get(f"{api}/catalog/procedures/{procedure}", timeout=10).ok
