"""The whole life of a dossier through HTTP, with the events seen on portal.events."""

from __future__ import annotations

import io
import json

from flask import Flask
from pika.adapters.blocking_connection import BlockingChannel

from services.core.bus import Names, OutboxRelay, declare_exchanges
from services.core.config import BusSettings
from services.core.service import ServiceDatabase
from tests.dossier.conftest import AGENCY, PDF, Portal
from tests.support.running import running
from tests.support.waiting import wait_until

PERSONAL = ("Nguyễn Văn An", "0912345678", "+84912345678", "an@example.vn", "038090001234")


def test_lifecycle_through_http_emits_events_without_personal_data(
    app: Flask,
    portal: Portal,
    database: ServiceDatabase,
    bus_settings: BusSettings,
    names: Names,
    amqp_channel: BlockingChannel,
) -> None:
    declare_exchanges(amqp_channel, names)
    events = amqp_channel.queue_declare("", exclusive=True).method.queue
    amqp_channel.queue_bind(events, names.events_exchange, routing_key="#")
    commands = amqp_channel.queue_declare("", exclusive=True).method.queue
    amqp_channel.queue_bind(commands, names.commands_exchange, routing_key="notify.send")

    dossier_id = portal.ready()
    submitted = portal.submit(dossier_id)
    assert submitted.status_code == 200, submitted.json
    code = submitted.json["code"]
    assert code.startswith(AGENCY + "-") and code.endswith("-0001")
    assert submitted.json["status"] == "submitted" and submitted.json["due_at"]
    c = portal.client
    assert portal.act(dossier_id, "receive").json["status"] == "processing"
    r = portal.act(dossier_id, "request-supplement", {"reason": "Thiếu bản sao giấy chứng sinh"})
    assert r.json["status"] == "supplement_requested" and r.json["remaining_days"] >= 1
    assert portal.attach(dossier_id, "GCS", name="giay-chung-sinh-2.pdf").status_code == 201
    r = c.post(f"/api/dossiers/{dossier_id}/resubmit", headers=portal.citizen)
    assert r.json["status"] == "processing", r.json
    r = portal.act(dossier_id, "return-result", {"note": "Đã cấp giấy khai sinh"})
    assert r.json["status"] == "result_returned"
    r = c.post(
        f"/api/dossiers/{dossier_id}/rating",
        json={"score": 5, "comment": "Nhanh chóng"},
        headers=portal.citizen,
    )
    assert r.json["rating"]["score"] == 5
    again = c.post(f"/api/dossiers/{dossier_id}/rating", json={"score": 4}, headers=portal.citizen)
    assert again.status_code == 409 and again.json["code"] == "already_rated"

    detail = c.get(f"/api/dossiers/{dossier_id}", headers=portal.citizen).json
    steps = [(h["from"], h["to"], h["actor_role"]) for h in detail["history"]]
    assert steps == [
        ("draft", "submitted", "citizen"),
        ("submitted", "processing", "officer"),
        ("processing", "supplement_requested", "officer"),
        ("supplement_requested", "processing", "citizen"),
        ("processing", "result_returned", "officer"),
    ]

    relay = OutboxRelay(database.sessions, bus_settings, service="dossier")
    seen: list[dict] = []
    sent: list[dict] = []

    def collect() -> bool:
        for queue, into in ((events, seen), (commands, sent)):
            while True:
                method, _props, body = amqp_channel.basic_get(queue, auto_ack=True)
                if method is None:
                    break
                into.append(json.loads(body))
        return len(seen) >= 6 and len(sent) >= 5

    with running(relay):
        wait_until(collect, 15, what="the dossier's events and commands")
    types = [e["type"] for e in seen]
    assert types == [
        "dossier.submitted",
        "dossier.received",
        "dossier.supplement_requested",
        "dossier.resubmitted",
        "dossier.result_returned",
        "dossier.rated",
    ]
    for event in seen:
        assert event["subject"] == dossier_id and event["data"]["code"] == code
        assert event["data"]["agency_code"] == AGENCY and event["data"]["province"] == "38"
        body = json.dumps(event, ensure_ascii=False)
        assert not any(value in body for value in PERSONAL), body
    templates = [m["data"]["template"] for m in sent]
    assert templates == [
        "dossier_submitted",
        "dossier_received",
        "dossier_supplement_requested",
        "dossier_resubmitted",
        "dossier_result_returned",
    ]
    first = sent[0]["data"]
    assert first["recipient"] == {
        "account_id": portal.citizen_id,
        "phone": "+84912345678",
        "email": "an@example.vn",
    }
    assert first["channels"] == ["inbox", "sms", "email"] and first["reference"] == dossier_id
    assert first["personalisation"]["dossier_code"] == code


def test_illegal_transitions_are_409_and_reasons_are_required(portal: Portal) -> None:
    dossier_id = portal.ready()
    r = portal.act(dossier_id, "receive")
    assert r.status_code == 404  # a draft is not the agency's yet
    portal.submit(dossier_id)
    r = portal.act(dossier_id, "return-result", {"note": "x"})
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"
    r = portal.act(dossier_id, "reject", {"reason": "   "})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = portal.act(dossier_id, "reject", {"reason": "Không thuộc thẩm quyền"})
    assert r.json["status"] == "rejected"
    r = portal.act(dossier_id, "receive")
    assert r.status_code == 409 and r.json["code"] == "invalid_transition"
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/rating", json={"score": 3}, headers=portal.citizen
    )
    assert r.status_code == 409
    r = portal.client.patch(
        f"/api/dossiers/{dossier_id}", json={"form": {}}, headers=portal.citizen
    )
    assert r.status_code == 409 and r.json["code"] == "not_editable"


def test_result_files_are_returned_and_the_owner_is_copied(portal: Portal) -> None:
    dossier_id = portal.ready()
    detail = portal.client.get(f"/api/dossiers/{dossier_id}", headers=portal.citizen).json
    assert detail["owner"]["full_name"] == "Nguyễn Văn An" and "phone" not in detail["owner"]
    portal.submit(dossier_id)
    portal.act(dossier_id, "receive")
    r = portal.client.post(
        f"/api/dossiers/{dossier_id}/return-result",
        data={"note": "Bản điện tử giấy khai sinh", "file": (io.BytesIO(PDF), "kết quả.pdf")},
        content_type="multipart/form-data",
        headers=portal.officer,
    )
    assert r.status_code == 200 and r.json["status"] == "result_returned"
    results = [a for a in r.json["attachments"] if a["kind"] == "result"]
    assert len(results) == 1 and results[0]["name"] == "kết quả.pdf"
    got = portal.client.get(
        f"/api/dossiers/{dossier_id}/attachments/{results[0]['id']}", headers=portal.citizen
    )
    assert got.status_code == 200 and got.data == PDF
