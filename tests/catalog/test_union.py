"""Federation on the real broker: a province publishes, the national union keeps copies."""

from __future__ import annotations

import json

import pika
from sqlalchemy import select

from services.catalog.app import build_context, create_app
from services.catalog.events import build_consumer
from services.catalog.models import Agency, Procedure
from services.catalog.publishing import publish, update, withdraw
from services.core.bus import Names, OutboxRelay, connection_parameters
from services.core.config import BusSettings
from services.core.contracts.catalog import PROCEDURE_PUBLISHED
from services.core.service import CONTEXT_KEY, ServiceDatabase
from tests.catalog.conftest import CatalogDb, make_procedure, outbox_bodies, seed_references
from tests.support.running import running
from tests.support.tokens import TokenFactory
from tests.support.waiting import HandledWaiter, wait_until


def test_national_union_follows_a_province_and_ignores_its_own_events(
    catalog_db: CatalogDb,
    second_db: CatalogDb,
    bus_settings: BusSettings,
    names: Names,
    tokens: TokenFactory,
) -> None:
    province = catalog_db.open(role="province", province="38")
    national_settings = second_db.settings(role="national", province="", bus=bus_settings)
    national = second_db.open(role="national", province="")
    seed_references(province)
    seed_references(national)

    consumer = build_consumer(build_context(national_settings, database=national))
    waiter = HandledWaiter(consumer)
    province_relay = OutboxRelay(province.sessions, bus_settings, service="catalog", names=names)
    national_relay = OutboxRelay(national.sessions, bus_settings, service="catalog", names=names)
    assert (
        build_consumer(
            build_context(catalog_db.settings(bus=bus_settings), database=province)
        ).queue_specs()
        == []
    )

    def last_event_id(database: ServiceDatabase) -> str:
        return str(json.loads(outbox_bodies(database)[-1])["id"])

    with running(consumer, province_relay, national_relay):
        wait_until(lambda: consumer.connected)
        with province.sessions() as session, session.begin():
            body = publish(session, make_procedure(), "38")
        waiter.wait_for(last_event_id(province))
        # The national portal publishes a procedure of its own: its worker skips the event.
        with national.sessions() as session, session.begin():
            passport = make_procedure(
                code="2.002150",
                name="Cấp hộ chiếu phổ thông",
                description="Cấp hộ chiếu cho công dân Việt Nam ở trong nước.",
                agencies=["000.00.00.H56"],
            )
            publish(session, passport, "")
        waiter.wait_for(last_event_id(national))

        app = create_app(build_context(national_settings, verifier=tokens.verifier()))
        client = app.test_client()
        copy = client.get("/api/catalog/procedures/1.001193", query_string={"province": "38"})
        assert copy.get_json() == body
        found = client.get("/api/catalog/procedures", query_string={"q": "khai sinh"}).get_json()
        assert [(i["code"], i["province"]) for i in found["items"]] == [("1.001193", "38")]
        with national.sessions() as session:
            rows = session.scalars(select(Procedure).order_by(Procedure.code)).all()
            assert [(r.code, r.province, r.version) for r in rows] == [
                ("1.001193", "38", 1),
                ("2.002150", "", 1),
            ]
            assert session.get(Agency, "000.01.31.H56").origin == "38"  # type: ignore[union-attr]

        # A redelivered old publication changes nothing; update and withdraw follow.
        first = json.loads(outbox_bodies(province, PROCEDURE_PUBLISHED)[0])
        with province.sessions() as session, session.begin():
            update(session, "1.001193", make_procedure(processing_days=2), "38")
        waiter.wait_for(last_event_id(province))
        with pika.BlockingConnection(connection_parameters(bus_settings)) as conn:
            conn.channel().basic_publish(
                names.events_exchange,
                first["type"],
                json.dumps({**first, "id": "00000000-0000-4000-8000-000000000001"}).encode(),
                pika.BasicProperties(
                    message_id="00000000-0000-4000-8000-000000000001", type=first["type"]
                ),
            )
        waiter.wait_for("00000000-0000-4000-8000-000000000001")
        updated = client.get("/api/catalog/procedures/1.001193?province=38").get_json()
        assert (updated["version"], updated["processing_days"]) == (2, 2)

        with province.sessions() as session, session.begin():
            withdraw(session, "1.001193", "38")
        waiter.wait_for(last_event_id(province))
        gone = client.get("/api/catalog/procedures/1.001193?province=38")
        assert gone.status_code == 404
    for database in (province, national):
        database.engine.dispose()
    app.extensions[CONTEXT_KEY].database.engine.dispose()
