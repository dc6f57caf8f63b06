"""notify as an attacker sees it: the dev outbox gives no one else's messages or OTPs.

Runs on the package's assembled portal (tests/security/conftest.py), through the gateway.
"""

from __future__ import annotations

import pytest
import requests

from harness.journey import PortalClient, subscribers
from harness.portal import PortalDeployment

pytestmark = [pytest.mark.timeout(120)]
PERSON = subscribers()[-2]  # not used by the other modules of the package


def test_a_stranger_cannot_list_everyones_otps_from_the_dev_outbox(
    portal: PortalDeployment,
) -> None:
    client = PortalClient(portal.gateway_url)
    started = client.post("/identity/registrations", json=PERSON.registration())
    assert started.status_code == 201, started.text
    code = client.next_otp(PERSON.phone, 0)  # the owner reads their own number's messages
    for query in ("", "?limit=500", "?to="):
        answer = requests.get(f"{portal.gateway_url}/api/notify/dev/outbox{query}", timeout=10)
        assert answer.status_code == 422, (query, answer.status_code, answer.text[:300])
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert answer.json()["code"] == "validation_error"
        assert code not in answer.text and PERSON.phone[-4:] not in answer.text
