"""The procedure read copy: events (newer versions only) and the start-up HTTP sync."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import delete, select

from services.core.bus import Names, OutboxContext, OutboxRelay, record_event
from services.core.config import BusSettings, ServiceSettings
from services.core.db import make_session_factory
from services.core.service import ServiceDatabase
from services.dossier.catalog import find_procedure, sync_if_empty
from services.dossier.context import build_context
from services.dossier.events import build_consumer
from services.dossier.models import CatalogProcedure
from tests.dossier.conftest import AGENCY, PROCEDURE, make_procedure
from tests.support.running import running
from tests.support.waiting import HandledWaiter, wait_until

PROCEDURES = {f"2.00{i}": make_procedure(code=f"2.00{i}", name=f"Thủ tục {i}") for i in range(5)}


@pytest.fixture
def catalog_url() -> Iterator[str]:
    class CatalogStandIn(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/api/catalog/procedures":
                query = parse_qs(url.query)
                page, per_page = int(query["page"][0]), int(query["per_page"][0])
                codes = sorted(PROCEDURES)
                chunk = codes[(page - 1) * per_page : page * per_page]
                body = {
                    "items": [{"code": c} for c in chunk],
                    "total": len(codes),
                    "page": page,
                    "per_page": per_page,
                }
            elif url.path.removeprefix("/api/catalog/procedures/") in PROCEDURES:
                body = PROCEDURES[url.path.rsplit("/", 1)[-1]]
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), CatalogStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_start_up_sync_fills_an_empty_read_copy(
    database: ServiceDatabase, catalog_url: str
) -> None:
    assert sync_if_empty(database.sessions, catalog_url) == 0  # not empty: the fixture's one
    with database.sessions() as session, session.begin():
        session.execute(delete(CatalogProcedure))
    from services.dossier import catalog

    assert catalog.sync_from_catalog(database.sessions, catalog_url, per_page=2) == 5
    with database.sessions() as session:
        rows = session.scalars(select(CatalogProcedure)).all()
        assert sorted(r.code for r in rows) == sorted(PROCEDURES)
        assert rows[0].data["documents"][0]["code"] == "TK"


def test_catalog_events_keep_newer_versions_only(
    database: ServiceDatabase, bus_settings: BusSettings, names: Names
) -> None:
    settings = ServiceSettings(service="dossier", database_url="sqlite://", bus=bus_settings)
    consumer = build_consumer(build_context(settings, database=database))
    waiter = HandledWaiter(consumer)
    catalog_sessions = make_session_factory(
        database.engine, outbox=OutboxContext(source="catalog", province="38")
    )
    relay = OutboxRelay(catalog_sessions, bus_settings, service="catalog")
    with catalog_sessions() as session, session.begin():
        newer = record_event(
            session,
            "catalog.procedure.updated",
            {"procedure": make_procedure(version=3, name="Đăng ký khai sinh (mới)")},
            subject=PROCEDURE,
        )
        older = record_event(
            session,
            "catalog.procedure.updated",
            {"procedure": make_procedure(version=2, name="Cũ")},
            subject=PROCEDURE,
        )
    with running(consumer):
        # The queue must exist before the catalogue's events are published.
        wait_until(lambda: consumer.connected, 10, what="the consumer's queue")
        with running(relay):
            waiter.wait_for_all([newer.id, older.id], timeout=20)
            with database.sessions() as session:
                row = session.get(CatalogProcedure, (PROCEDURE, "38"))
                assert row is not None and row.version == 3
                assert row.data["name"] == "Đăng ký khai sinh (mới)"
            with catalog_sessions() as session, session.begin():
                gone = record_event(
                    session,
                    "catalog.procedure.withdrawn",
                    {"procedure": {"code": PROCEDURE, "version": 4, "province": "38"}},
                    subject=PROCEDURE,
                )
            waiter.wait_for(gone.id, timeout=20)
    with database.sessions() as session:
        row = session.get(CatalogProcedure, (PROCEDURE, "38"))
        assert row is not None and row.withdrawn and row.version == 4
        assert find_procedure(session, PROCEDURE, AGENCY) is None
