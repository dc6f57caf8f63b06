"""A citizen's and an officer's journey through a running portal's gateway, over real HTTP.

Plain functions and one small client class, shared by the security and fault tests
and the whole-portal benchmark: register with the SMS OTP read from the dev outbox,
log in, file a dossier with attachments, submit it, process it as an officer.
"""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Sao#Dem2026xy"  # no demo subscriber's name in it (Đỗ Thị Mai Anh)
OFFICER_PASSWORD = "CanBo#2026demo"
# A simple online procedure (xác nhận tình trạng hôn nhân) executed by communes.
PROCEDURE = "1.004873"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
_OTP = re.compile(r"\b(\d{6})\b")


@dataclass(frozen=True)
class Subscriber:
    """A person the carrier simulator knows (deploy/demo/subscribers.csv)."""

    phone: str
    citizen_id: str
    full_name: str
    date_of_birth: str

    def registration(self, **changes: Any) -> dict[str, Any]:
        body = {
            "citizen_id": self.citizen_id,
            "full_name": self.full_name,
            "date_of_birth": self.date_of_birth,
            # The 4th digit of a CCCD encodes gender and century: even male, odd female.
            "gender": "male" if int(self.citizen_id[3]) % 2 == 0 else "female",
            "phone": self.phone,
            "email": f"c{self.citizen_id}@example.vn",
        }
        body.update(changes)
        return body


def subscribers() -> list[Subscriber]:
    with (ROOT / "deploy" / "demo" / "subscribers.csv").open(encoding="utf-8") as f:
        return [Subscriber(**row) for row in csv.DictReader(f)]


def officers() -> dict[str, dict[str, str]]:
    """Demo officers by agency code."""
    with (ROOT / "deploy" / "demo" / "staff.csv").open(encoding="utf-8") as f:
        return {r["agency_code"]: r for r in csv.DictReader(f) if r["role"] == "officer"}


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class PortalClient:
    """HTTP calls to one portal (through its gateway unless another base URL is given)."""

    def __init__(self, base_url: str, notify_url: str | None = None, timeout: float = 15) -> None:
        self.api = f"{base_url}/api"
        self.notify_api = f"{notify_url or base_url}/api"
        self.http = requests.Session()
        self.timeout = timeout

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.http.post(f"{self.api}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.http.get(f"{self.api}{path}", **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return self.http.patch(f"{self.api}{path}", **kwargs)

    # The dev outbox -------------------------------------------------------------

    def outbox(self, to: str) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"{self.notify_api}/notify/dev/outbox", params={"to": to}, timeout=self.timeout
        )
        answer.raise_for_status()
        return list(answer.json()["items"])

    def sms_count(self, phone: str) -> int:
        return sum(1 for m in self.outbox(phone) if m["channel"] == "sms")

    def next_otp(self, phone: str, seen: int, timeout: float = 20) -> str:
        """The code of the first SMS to `phone` after the `seen` ones already there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sms = [m for m in self.outbox(phone) if m["channel"] == "sms"]
            # Newest first; other messages (account created, dossier sent) may interleave.
            for message in sms[: max(0, len(sms) - seen)]:
                found = _OTP.search(message["body"])
                if found and "OTP" in message["body"]:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no new OTP SMS to {phone} within {timeout} s")

    # Identity -------------------------------------------------------------------

    def register(self, person: Subscriber, password: str = PASSWORD) -> str:
        """The whole registration; returns the account id."""
        seen = self.sms_count(person.phone)
        started = self.post("/identity/registrations", json=person.registration())
        assert started.status_code == 201, started.text
        rid = started.json()["id"]
        code = self.next_otp(person.phone, seen)
        verified = self.post(f"/identity/registrations/{rid}/otp/verify", json={"code": code})
        assert verified.status_code == 200, verified.text
        done = self.post(
            f"/identity/registrations/{rid}/complete",
            json={"password": password, "password_confirmation": password},
        )
        assert done.status_code == 201, done.text
        return str(done.json()["account_id"])

    def login(self, username: str, phone: str, password: str = PASSWORD) -> dict[str, Any]:
        """Both login steps; returns the token pair."""
        seen = self.sms_count(phone)
        started = self.post("/identity/logins", json={"username": username, "password": password})
        assert started.status_code == 201, started.text
        code = self.next_otp(phone, seen)
        verified = self.post(
            f"/identity/logins/{started.json()['id']}/otp/verify", json={"code": code}
        )
        assert verified.status_code == 200, verified.text
        return dict(verified.json())

    def officer_token(self, agency: str) -> str:
        staff = officers()[agency]
        return str(self.login(staff["username"], staff["phone"], staff["password"])["access_token"])

    # Dossiers -------------------------------------------------------------------

    def commune_with_officer(self) -> str:
        """An agency executing PROCEDURE that has a demo officer."""
        procedure = self.get(f"/catalog/procedures/{PROCEDURE}", params={"province": "38"})
        assert procedure.status_code == 200, procedure.text
        staffed = officers()
        for agency in procedure.json()["agencies"]:
            code = agency["code"] if isinstance(agency, dict) else str(agency)
            if code in staffed:
                return str(code)
        raise AssertionError("no demo officer for any agency of the procedure")

    def draft(self, token: str, agency: str) -> str:
        answer = self.post(
            "/dossiers",
            json={"procedure_code": PROCEDURE, "agency_code": agency},
            headers=bearer(token),
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def fill(self, token: str, dossier_id: str, person: Subscriber) -> None:
        answer = self.patch(
            f"/dossiers/{dossier_id}",
            json={
                "applicant": {
                    "full_name": person.full_name,
                    "phone": person.phone,
                    "email": f"c{person.citizen_id}@example.vn",
                    "citizen_id": person.citizen_id,
                },
                "owner_same_as_applicant": True,
                "form": {
                    "subject": {
                        "full_name": person.full_name,
                        "date_of_birth": person.date_of_birth,
                        "citizen_id": person.citizen_id,
                    },
                    "marital_status": "chưa đăng ký kết hôn",
                    "purpose": "Kết hôn",
                },
                "delivery": {"method": "online"},
            },
            headers=bearer(token),
        )
        assert answer.status_code == 200, answer.text

    def attach(
        self,
        token: str,
        dossier_id: str,
        document_code: str,
        data: bytes = PDF,
        name: str = "to-khai.pdf",
        content_type: str = "application/pdf",
    ) -> requests.Response:
        return self.post(
            f"/dossiers/{dossier_id}/attachments",
            data={"document_code": document_code},
            files={"file": (name, data, content_type)},
            headers=bearer(token),
        )

    def prepared_draft(self, token: str, agency: str, person: Subscriber) -> str:
        """A draft ready to submit: filled, with its required documents attached."""
        dossier_id = self.draft(token, agency)
        self.fill(token, dossier_id, person)
        for code in ("to-khai-xac-nhan-tinh-trang-hon-nhan", "giay-to-tuy-than"):
            answer = self.attach(token, dossier_id, code)
            assert answer.status_code == 201, answer.text
        return dossier_id

    def submit(self, token: str, dossier_id: str) -> requests.Response:
        return self.post(f"/dossiers/{dossier_id}/submit", headers=bearer(token))
