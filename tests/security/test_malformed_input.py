"""Issue 18 point 7 as an attacker scripts it, through the gateway of an assembled portal:
malformed parameters and bodies are refused as problems, never answered with a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from harness.journey import PortalClient, bearer
from harness.portal import PortalDeployment

pytestmark = [pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def client(portal: PortalDeployment) -> PortalClient:
    return PortalClient(portal.gateway_url)


@pytest.fixture(scope="module")
def officer(client: PortalClient) -> dict[str, str]:
    return bearer(client.officer_token(client.commune_with_officer()))


def assert_validation_problem(answer: Any, status: int = 422) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01"},
        {"to": "0001-01-01"},
        {"from": "9999-12-31"},
        {"from": "0001-01-01", "to": "9999-12-31", "agency": "x"},
    ],
)
def test_statistics_with_dates_out_of_range_are_refused_without_login(
    client: PortalClient, params: dict[str, str]
) -> None:
    assert_validation_problem(client.get("/dossiers/stats", params=params))


def test_an_officer_posting_a_body_that_is_not_an_object_gets_a_422(
    client: PortalClient, officer: dict[str, str]
) -> None:
    # The dossier need not exist: the body is refused before any route reads it.
    for dossier in (str(uuid.uuid4()), "x"):
        for body in ([], ["note"], "note", 42, 1.5, True, None):
            answer = client.post(
                f"/dossiers/{dossier}/return-result",
                data=json.dumps(body),
                headers={**officer, "Content-Type": "application/json"},
            )
            assert_validation_problem(answer)
        malformed = client.post(
            f"/dossiers/{dossier}/return-result",
            data='{"note": ',
            headers={**officer, "Content-Type": "application/json"},
        )
        assert_validation_problem(malformed, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/identity/logins",
        "/identity/registrations",
        "/catalog/procedures",
        "/dossiers",
        "/dossiers/anonymous",
        # Routes that read their body by hand, or take none: refused all the same.
        "/dossiers/00000000-0000-4000-8000-000000000007/return-result",
        "/dossiers/00000000-0000-4000-8000-000000000007/receive",
    ],
)
def test_every_service_refuses_a_list_body_in_the_same_words(
    client: PortalClient, officer: dict[str, str], path: str
) -> None:
    # Signed in, so that the gateway lets the guarded routes through to their service.
    answer = client.post(path, json=[{"a": 1}], headers=officer)
    assert_validation_problem(answer)
    assert answer.json()["errors"] == {"_schema": ["Invalid input type."]}
