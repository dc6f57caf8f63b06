"""Fixtures of the catalog tests: a migrated catalogue database on SQLite and PostgreSQL,
apps with an injected token verifier, and plain factories for procedures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from harness.scratch import scratch_database
from services.catalog.app import MIGRATIONS, build_context, create_app
from services.catalog.config import CatalogSettings
from services.catalog.demo import load_demo
from services.catalog.models import Agency, Field, LifeEvent
from services.core.bus import OutboxMessage
from services.core.config import BusSettings, ServiceSettings
from services.core.service import ServiceDatabase
from tests.support.tokens import TEST_ISSUER, TokenFactory


@dataclass
class CatalogDb:
    """A migrated catalogue database of one backend, for one test."""

    url: str
    kind: str

    def settings(
        self, role: str = "province", province: str = "38", bus: BusSettings | None = None
    ) -> ServiceSettings:
        return ServiceSettings(
            service="catalog",
            database_url=self.url,
            portal_role=role,
            province=province,
            log_json=False,
            token_issuer=TEST_ISSUER,
            bus=bus or BusSettings(),
        )

    def open(self, role: str = "province", province: str = "38") -> ServiceDatabase:
        return ServiceDatabase.open(self.settings(role, province))


def _new_database(request: pytest.FixtureRequest, tmp_path: Any, kind: str) -> Iterator[CatalogDb]:
    postgres = request.getfixturevalue("postgres_url") if kind == "postgresql" else None
    with scratch_database(kind, tmp_path, postgres, "c") as place:
        database = ServiceDatabase.open(CatalogDb(place.url_only, kind).settings())
        database.migrate(MIGRATIONS)
        database.engine.dispose()
        yield CatalogDb(place.url_only, kind)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[CatalogDb]:
    yield from _new_database(request, tmp_path, request.param)


@pytest.fixture
def second_db(
    request: pytest.FixtureRequest, tmp_path: Any, catalog_db: CatalogDb
) -> Iterator[CatalogDb]:
    """Another deployment's database on the same backend (the national union)."""
    yield from _new_database(request, tmp_path, catalog_db.kind)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


AppFactory = Callable[..., Flask]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CatalogDb]:
    """A Thanh Hóa catalogue with the demo loaded, shared by a module's read-only tests."""
    for database in _new_database(request, tmp_path_factory.mktemp("demo"), request.param):
        opened = database.open(role="province", province="38")
        load_demo_into(opened, "province", "38")
        opened.engine.dispose()
        yield database


@pytest.fixture
def make_app(catalog_db: CatalogDb, tokens: TokenFactory) -> AppFactory:
    def build(
        role: str = "province", province: str = "38", limits: CatalogSettings | None = None
    ) -> Flask:
        return create_app(
            build_context(catalog_db.settings(role, province), limits, verifier=tokens.verifier())
        )

    return build


def seed_references(database: ServiceDatabase) -> None:
    """The few reference rows the admin tests need (no demo load)."""
    with database.sessions() as session, session.begin():
        session.add_all(
            [
                Field(code="ho-tich", name="Hộ tịch"),
                Field(code="chung-thuc", name="Chứng thực"),
                LifeEvent(code="khai-sinh", name="Khai sinh", audience="citizen"),
                Agency(
                    code="000.00.00.H56",
                    name="UBND tỉnh Thanh Hóa",
                    level="province",
                    province="38",
                    origin="38",
                ),
                Agency(
                    code="000.01.31.H56",
                    name="UBND phường Điện Biên",
                    level="commune",
                    parent_code="000.00.31.H56",
                    province="38",
                    origin="38",
                ),
                Agency(
                    code="000.01.31.H27",
                    name="UBND phường Bắc Hà",
                    level="commune",
                    province="42",
                    origin="42",
                ),
            ]
        )


def load_demo_into(database: ServiceDatabase, role: str, province: str) -> dict[str, int]:
    with database.sessions() as session, session.begin():
        return load_demo(session, province, role).events


def outbox_bodies(database: ServiceDatabase, event_type: str | None = None) -> list[str]:
    with database.sessions() as session:
        stmt = select(OutboxMessage.body).order_by(OutboxMessage.seq)
        if event_type is not None:
            stmt = stmt.where(OutboxMessage.type == event_type)
        return list(session.scalars(stmt))


def outbox_count(database: ServiceDatabase) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def make_procedure(**changes: Any) -> dict[str, Any]:
    """An administrator's input for a procedure, with sensible defaults."""
    data: dict[str, Any] = {
        "code": "1.001193",
        "name": "Thủ tục đăng ký khai sinh",
        "description": "Đăng ký khai sinh cho trẻ em sinh ra tại Việt Nam.",
        "field": "ho-tich",
        "life_events": ["khai-sinh"],
        "audience": ["citizen"],
        "agencies": ["000.01.31.H56"],
        "service_level": "full",
        "processing_days": 0,
        "fees": [{"name": "Lệ phí", "amount": 0}],
        "documents": [
            {"code": "to-khai", "name": "Tờ khai đăng ký khai sinh", "required": True},
            {"code": "giay-chung-sinh", "name": "Giấy chứng sinh", "copies": 1},
        ],
        "form": {
            "type": "object",
            "required": ["child"],
            "properties": {"child": {"type": "object", "title": "Người được khai sinh"}},
        },
        "result_delivery": ["online", "counter"],
        "legal_basis": ["Luật Hộ tịch số 60/2014/QH13"],
        "steps": ["Nộp hồ sơ", "Trả kết quả"],
    }
    data.update(changes)
    return data
