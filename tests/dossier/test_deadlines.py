"""Codes unique under concurrency, working-day deadlines, the stopped clock, overdue notices."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from services.core.bus import OutboxMessage
from services.core.service import ServiceDatabase
from services.dossier import filing, workflow
from services.dossier.calendar import WorkingCalendar, local_date
from services.dossier.domain import Actor, AttachmentKind, Role
from services.dossier.filing import DossierContext
from services.dossier.models import Dossier
from services.dossier.overdue import scan_overdue
from tests.dossier.conftest import AGENCY, PDF, PNG, PROCEDURE

CITIZEN = Actor("citizen-1", Role.CITIZEN)
OFFICER = Actor("officer-1", Role.OFFICER, AGENCY)


def ready_draft(database: ServiceDatabase, ctx: DossierContext, now: datetime) -> str:
    with database.sessions() as session, session.begin():
        dossier = filing.new_draft(session, CITIZEN, PROCEDURE, AGENCY, now)
        filing.fill(
            dossier,
            {
                "applicant": {"full_name": "Trần Thị B", "phone": "+84912345679"},
                "owner_same_as_applicant": True,
                "form": {"child_name": "Bé", "date_of_birth": "2026-11-01"},
                "delivery": {"method": "counter"},
            },
            now,
        )
        session.flush()
        for code, data in (("TK", PDF), ("GCS", PNG)):
            filing.store_attachment(
                session,
                ctx,
                dossier,
                kind=AttachmentKind.DOCUMENT,
                document_code=code,
                file_name=None,
                data=data,
                uploaded_by=CITIZEN.id,
                now=now,
            )
        return dossier.id


def test_codes_are_unique_per_agency_per_day_under_parallel_submissions(
    database: ServiceDatabase, ctx: DossierContext
) -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
    ids = [ready_draft(database, ctx, now) for _ in range(16)]

    def submit(dossier_id: str) -> str:
        with database.sessions() as session, session.begin():
            return str(workflow.submit(session, ctx, dossier_id, CITIZEN, now).code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(submit, ids))
    assert sorted(codes) == [f"{AGENCY}-261123-{n:04d}" for n in range(1, 17)]
    late = now + timedelta(hours=17)  # 02:00 the next day in Vietnam: a new sequence
    extra = ready_draft(database, ctx, late)
    with database.sessions() as session, session.begin():
        assert workflow.submit(session, ctx, extra, CITIZEN, late).code == f"{AGENCY}-261124-0001"


def test_working_days_skip_weekends_tet_and_announced_days(tmp_path: Path) -> None:
    calendar = WorkingCalendar()
    # Friday 13 Feb 2026 + 3 working days: the weekend and Tết (16-20 Feb) are skipped.
    assert calendar.add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert not calendar.is_working_day(date(2026, 9, 2))
    assert calendar.is_working_day(date(2025, 4, 26))  # a make-up Saturday the library knows
    data = tmp_path / "calendar.json"
    data.write_text(
        json.dumps(
            {"days_off": {"2026-12-31": "nghỉ bù"}, "working_days": {"2026-12-26": "làm bù"}}
        )
    )
    announced = WorkingCalendar.from_file(data)
    assert not announced.is_working_day(date(2026, 12, 31))
    assert announced.is_working_day(date(2026, 12, 26))
    # Fri 25, the make-up Saturday 26, Mon 28.
    assert announced.add_working_days(date(2026, 12, 24), 3) == date(2026, 12, 28)


def test_clock_stops_during_supplement_and_resumes(
    database: ServiceDatabase, ctx: DossierContext
) -> None:
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    dossier_id = ready_draft(database, ctx, monday)
    with database.sessions() as session, session.begin():
        dossier = workflow.submit(session, ctx, dossier_id, CITIZEN, monday)
        # Tuesday 24 Nov is Vietnam Culture Day: Wed 25, Thu 26, Fri 27.
        assert local_date(dossier.due_at) == date(2026, 11, 27)  # type: ignore[arg-type]
        workflow.receive(session, dossier_id, OFFICER, monday)
        workflow.request_supplement(session, ctx, dossier_id, OFFICER, "Thiếu giấy", monday)
        assert dossier.remaining_days == 3
    later = monday + timedelta(days=14)  # the citizen comes back two weeks later
    with database.sessions() as session, session.begin():
        dossier = workflow.resubmit(session, ctx, dossier_id, CITIZEN, later)
        assert local_date(dossier.due_at) == date(2026, 12, 10)  # type: ignore[arg-type]
        assert dossier.paused_days == 9
        assert dossier.status == "processing"


def test_overdue_scan_apologises_once_per_new_date(
    database: ServiceDatabase, ctx: DossierContext
) -> None:
    monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    dossier_id = ready_draft(database, ctx, monday)
    with database.sessions() as session, session.begin():
        workflow.submit(session, ctx, dossier_id, CITIZEN, monday)

    def apologies() -> int:
        with database.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.type == "dossier.overdue")
                )
                or 0
            )

    assert scan_overdue(database.sessions, ctx, monday + timedelta(days=1)) == 0
    overdue_at = monday + timedelta(days=5)  # Saturday, past Friday's 17:00
    assert scan_overdue(database.sessions, ctx, overdue_at) == 1
    assert scan_overdue(database.sessions, ctx, overdue_at + timedelta(hours=1)) == 0
    assert apologies() == 1
    with database.sessions() as session:
        dossier = session.get(Dossier, dossier_id)
        assert dossier is not None and dossier.apologies == 1
        assert local_date(dossier.promised_at) == date(2026, 12, 2)  # type: ignore[arg-type]
        commands = session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.type == "notify.send")
        ).all()
        assert any("dossier_overdue_apology" in body and "02/12/2026" in body for body in commands)
    assert scan_overdue(database.sessions, ctx, overdue_at + timedelta(days=10)) == 1
    assert apologies() == 2
