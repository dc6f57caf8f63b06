"""Fixtures of the dossier tests: a migrated database, the app, tokens, a procedure."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.journey import PDF
from harness.scratch import scratch_database
from services.core.bus import OutboxContext
from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_engine, make_session_factory
from services.core.service import ServiceDatabase
from services.dossier.app import MIGRATIONS, build_context, create_app
from services.dossier.catalog import apply_procedure
from services.dossier.config import DossierSettings
from services.dossier.filing import DossierContext
from tests.support.tokens import TokenFactory

AGENCY = "000.00.15.H56"
OTHER_AGENCY = "000.00.16.H56"
PROCEDURE = "1.001193"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_procedure(**changes: Any) -> dict[str, Any]:
    """Birth registration (đăng ký khai sinh) with a declaration schema and two documents."""
    procedure: dict[str, Any] = {
        "code": PROCEDURE,
        "name": "Đăng ký khai sinh",
        "description": "Thủ tục đăng ký khai sinh",
        "field": {"code": "HT", "name": "Hộ tịch"},
        "agencies": [
            {"code": AGENCY, "name": "UBND phường Đông Vệ", "level": "commune", "province": "38"},
            {
                "code": OTHER_AGENCY,
                "name": "UBND phường Ba Đình",
                "level": "commune",
                "province": "38",
            },
        ],
        "service_level": "full",
        "processing_days": 3,
        "fees": [{"amount": 0, "description": "Miễn lệ phí"}],
        "documents": [
            {"code": "TK", "name": "Tờ khai đăng ký khai sinh", "required": True, "copies": 1},
            {"code": "GCS", "name": "Giấy chứng sinh", "required": True, "copies": 1},
            {"code": "UQ", "name": "Văn bản ủy quyền", "required": False, "copies": 1},
        ],
        "form": {
            "type": "object",
            "required": ["child_name", "date_of_birth"],
            "properties": {
                "child_name": {"type": "string", "minLength": 1},
                "date_of_birth": {"type": "string", "format": "date"},
                "weight_grams": {"type": "integer", "minimum": 300},
            },
        },
        "result_delivery": ["online", "counter", "post"],
        "legal_basis": ["Luật Hộ tịch 2014"],
        "version": 1,
        "province": "38",
        "extra_field_from_future": {"ignored": True},
    }
    procedure.update(changes)
    return procedure


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceDatabase]:
    """The dossier schema through its own migrations, on SQLite and on PostgreSQL."""
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    with scratch_database(request.param, tmp_path, postgres, "d") as place:
        engine = make_engine(place.url, connect_args=place.connect_args)
        sessions = make_session_factory(
            engine, outbox=OutboxContext(source="dossier", province="38")
        )
        db = ServiceDatabase(engine, sessions)
        db.migrate(MIGRATIONS)
        with sessions() as session, session.begin():
            apply_procedure(session, make_procedure(), withdrawn=False)
        yield db
        engine.dispose()


@pytest.fixture
def dossier_settings(tmp_path: Path) -> DossierSettings:
    return DossierSettings(
        blob_dir=tmp_path / "blobs",
        max_file_bytes=64 * 1024,
        max_dossier_bytes=160 * 1024,
        lookup_rate_limit="",
    )


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def ctx(
    database: ServiceDatabase,
    dossier_settings: DossierSettings,
    tokens: TokenFactory,
    amqp_url: str,
) -> DossierContext:
    settings = ServiceSettings(
        service="dossier",
        database_url="sqlite://",
        province="38",
        bus=BusSettings(amqp_url=amqp_url),
    )
    return build_context(settings, dossier_settings, database=database, verifier=tokens.verifier())


@pytest.fixture
def app(ctx: DossierContext) -> Flask:
    return create_app(ctx)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bus_app(app: Flask, bus: BusSettings) -> ServiceSettings:
    settings: ServiceSettings = app.config["PORTAL_SETTINGS"]
    return replace(settings, bus=bus)


class Portal:
    """Plain helpers driving the API the way a citizen and an officer do."""

    def __init__(self, client: FlaskClient, tokens: TokenFactory) -> None:
        self.client = client
        self.tokens = tokens
        self.citizen_id = str(uuid.uuid4())
        self.citizen = self.auth(tokens.issue(self.citizen_id))
        self.officer = self.auth(tokens.issue(roles=("officer",), agency=AGENCY))

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def draft(self, headers: dict[str, str] | None = None) -> str:
        r = self.client.post(
            "/api/dossiers",
            json={"procedure_code": PROCEDURE, "agency_code": AGENCY},
            headers=headers or self.citizen,
        )
        assert r.status_code == 201, r.json
        return str(r.json["id"])

    def fill(self, dossier_id: str, headers: dict[str, str] | None = None) -> None:
        r = self.client.patch(
            f"/api/dossiers/{dossier_id}",
            json={
                "applicant": {
                    "full_name": "Nguyễn Văn An",
                    "phone": "0912345678",
                    "email": "an@example.vn",
                    "citizen_id": "038090001234",
                },
                "owner_same_as_applicant": True,
                "form": {"child_name": "Nguyễn Văn Bình", "date_of_birth": "2026-11-01"},
                "delivery": {"method": "online"},
            },
            headers=headers or self.citizen,
        )
        assert r.status_code == 200, r.json

    def attach(
        self,
        dossier_id: str,
        code: str,
        data: bytes = PDF,
        name: str = "to-khai.pdf",
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.client.post(
            f"/api/dossiers/{dossier_id}/attachments",
            data={"document_code": code, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
            headers=headers or self.citizen,
        )

    def ready(self, headers: dict[str, str] | None = None) -> str:
        dossier_id = self.draft(headers)
        self.fill(dossier_id, headers)
        for code in ("TK", "GCS"):
            assert self.attach(dossier_id, code, headers=headers).status_code == 201
        return dossier_id

    def submit(self, dossier_id: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            f"/api/dossiers/{dossier_id}/submit", headers=headers or self.citizen
        )

    def act(self, dossier_id: str, action: str, json: Any = None, headers: Any = None) -> Any:
        return self.client.post(
            f"/api/dossiers/{dossier_id}/{action}", json=json or {}, headers=headers or self.officer
        )


@pytest.fixture
def portal(client: FlaskClient, tokens: TokenFactory) -> Portal:
    return Portal(client, tokens)
