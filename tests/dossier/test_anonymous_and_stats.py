"""Filing without an account, and the statistics formulas on known cases."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.core.bus import OutboxMessage
from services.core.service import ServiceDatabase
from services.dossier import queries, workflow
from services.dossier.filing import DossierContext
from services.dossier.models import Dossier
from tests.dossier.conftest import AGENCY, PDF, PNG, PROCEDURE, Portal
from tests.dossier.test_deadlines import CITIZEN, OFFICER, ready_draft


def test_anonymous_filing_is_told_by_email_only_and_cannot_be_supplemented(
    portal: Portal, database: ServiceDatabase
) -> None:
    data = {
        "procedure_code": PROCEDURE,
        "agency_code": AGENCY,
        "email": "khach@example.vn",
        "applicant": {"full_name": "Lê Văn C", "phone": "0912345670"},
        "owner_same_as_applicant": True,
        "form": {"child_name": "Bé C", "date_of_birth": "2026-10-01"},
        "delivery": {"method": "counter"},
    }
    r = portal.client.post(
        "/api/dossiers/anonymous",
        data={
            "data": json.dumps(data),
            "TK": (io.BytesIO(PDF), "a.pdf"),
            "GCS": (io.BytesIO(PNG), "b.png"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.json
    dossier_id, code = r.json["id"], r.json["code"]
    assert r.json["status"] == "submitted"
    incomplete = portal.client.post("/api/dossiers/anonymous", json=data)  # no files
    assert incomplete.status_code == 422 and incomplete.json["code"] == "incomplete"
    assert portal.client.post("/api/dossiers/anonymous", json={}).json["code"] == "validation_error"
    r = portal.act(dossier_id, "request-supplement", {"reason": "Thiếu giấy tờ"})
    assert r.json["status"] == "supplement_requested"
    with database.sessions() as session:
        bodies = session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.type == "notify.send", OutboxMessage.subject == dossier_id)
            .order_by(OutboxMessage.seq)
        ).all()
    commands = [json.loads(b)["data"] for b in bodies]
    assert [c["template"] for c in commands] == [
        "dossier_submitted",
        "dossier_supplement_requested",
    ]
    for command in commands:
        assert command["channels"] == ["email"]
        assert command["recipient"] == {
            "account_id": None,
            "phone": None,
            "email": "khach@example.vn",
        }
    assert commands[1]["personalisation"]["file_anew"] is True
    assert (
        portal.client.get(f"/api/dossiers/lookup?code={code}").json["status"]
        == "supplement_requested"
    )


def test_statistics_formulas_on_known_cases(database: ServiceDatabase, ctx: DossierContext) -> None:
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    ids = [ready_draft(database, ctx, monday) for _ in range(4)]
    with database.sessions() as session, session.begin():
        for dossier_id in ids:
            workflow.submit(session, ctx, dossier_id, CITIZEN, monday)
            workflow.receive(session, dossier_id, OFFICER, monday)
        # On time on Wed 25 (1 working day: Tue 24 is a holiday), late on Wed 2 Dec (6 days).
        workflow.return_result(session, ctx, ids[0], OFFICER, None, [], monday + timedelta(days=2))
        workflow.return_result(session, ctx, ids[1], OFFICER, None, [], monday + timedelta(days=9))
        workflow.reject(session, ctx, ids[2], OFFICER, "Sai thẩm quyền", monday)
        workflow.rate(session, ids[0], CITIZEN, 5, None, monday + timedelta(days=3))
        workflow.rate(session, ids[1], CITIZEN, 2, "Chậm", monday + timedelta(days=10))
    with database.sessions() as session:
        stats = queries.statistics(session, agency=AGENCY)
        assert stats["total"] == 4
        assert stats["counts"] == {
            "submitted": 0,
            "processing": 1,
            "supplement_requested": 0,
            "result_returned": 2,
            "rejected": 1,
        }
        assert stats["on_time_rate"] == 0.5 and stats["on_time"] == 1
        assert stats["average_days_to_result"] == 3.5  # (1 + 6) / 2
        assert stats["online_share"] == 1.0
        assert stats["average_rating"] == 3.5 and stats["ratings"] == 2
        empty = queries.statistics(session, agency="none")
        assert empty["total"] == 0 and empty["on_time_rate"] is None
        outside = queries.statistics(session, start=monday + timedelta(days=1))
        assert outside["total"] == 0
        assert (
            session.scalars(select(Dossier).where(Dossier.id == ids[1])).one().working_days_taken
            == 6
        )
