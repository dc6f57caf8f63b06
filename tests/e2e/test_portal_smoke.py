"""The assembled portal through its gateway: a citizen registers and reads the OTP."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

from harness.portal import running_portal


def test_registration_otp_reaches_the_dev_outbox_through_the_gateway(
    tmp_path: Path, amqp_url: str
) -> None:
    with running_portal(tmp_path, amqp_url) as portal:
        api = f"{portal.gateway_url}/api"
        answer = requests.post(
            f"{api}/identity/registrations",
            json={
                "citizen_id": "038085001234",
                "full_name": "Nguyễn Văn An",
                "date_of_birth": "1985-03-12",
                "gender": "male",
                "phone": "0912345678",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        assert answer.headers["X-Request-ID"]
        registration = answer.json()["id"]

        sms: list[dict[str, str]] = []
        for _ in range(100):
            outbox = requests.get(
                f"{api}/notify/dev/outbox", params={"to": "0912345678"}, timeout=5
            )
            sms = [m for m in outbox.json()["items"] if m["channel"] == "sms"]
            if sms:
                break
            time.sleep(0.1)
        assert sms, "the OTP SMS never reached the dev outbox"
        found = re.search(r"\b(\d{6})\b", sms[0]["body"])
        assert found, sms[0]["body"]
        code = found.group(1)
        verified = requests.post(
            f"{api}/identity/registrations/{registration}/otp/verify",
            json={"code": code},
            timeout=10,
        )
        assert verified.status_code == 200, verified.text
