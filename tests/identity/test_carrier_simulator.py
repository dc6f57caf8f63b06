"""The carrier stand-in over real HTTP: lookups in any phone form, additions, refusals."""

from __future__ import annotations

import requests

from tests.identity.conftest import Carrier


def test_lookup_add_and_refuse(carrier: Carrier) -> None:
    found = requests.get(f"{carrier.url}/subscribers/+84912345678", timeout=5)
    assert found.status_code == 200
    assert found.json() == {
        "phone": "+84912345678",
        "citizen_id": "038085001234",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1985-03-12",
    }
    assert requests.get(f"{carrier.url}/subscribers/0912345678", timeout=5).status_code == 200
    assert requests.get(f"{carrier.url}/subscribers/0977000000", timeout=5).status_code == 404
    added = requests.post(
        f"{carrier.url}/subscribers",
        json={
            "phone": "0977000000",
            "citizen_id": "042195004567",
            "full_name": "Phạm Thị Thu Hằng",
            "date_of_birth": "1995-01-30",
        },
        timeout=5,
    )
    assert added.status_code == 201 and added.json()["phone"] == "+84977000000"
    assert requests.get(f"{carrier.url}/subscribers/+84977000000", timeout=5).status_code == 200
    bad = requests.post(f"{carrier.url}/subscribers", json={"phone": "1"}, timeout=5)
    assert bad.status_code == 400
