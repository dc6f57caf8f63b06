"""The service as a whole: schema matches models, events documented, worker scanner runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from services.core.bus import BusBase
from services.core.contracts.dossier import Event
from services.core.service import ServiceDatabase
from services.dossier import workflow
from services.dossier.filing import DossierContext
from services.dossier.models import Base, Dossier
from services.dossier.worker import OverdueScanner
from tests.dossier.test_deadlines import CITIZEN, ready_draft
from tests.support.waiting import wait_until

README = Path(__file__).resolve().parents[2] / "services" / "dossier" / "README.md"


def test_migrations_match_the_models(database: ServiceDatabase) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, [Base.metadata, BusBase.metadata])
    assert diff == []


def test_every_published_event_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    assert [e.value for e in Event if e.value not in text] == []


def test_worker_overdue_scanner_runs_in_its_thread(
    database: ServiceDatabase, ctx: DossierContext
) -> None:
    long_ago = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
    dossier_id = ready_draft(database, ctx, long_ago)
    with database.sessions() as session, session.begin():
        workflow.submit(session, ctx, dossier_id, CITIZEN, long_ago)
    scanner = OverdueScanner(database.sessions, ctx, interval=0.05)
    thread = threading.Thread(target=scanner.run, daemon=True)
    thread.start()

    def apologised() -> bool:
        with database.sessions() as session:
            return session.scalar(select(Dossier.apologies).where(Dossier.id == dossier_id)) == 1

    try:
        wait_until(apologised, 10, what="the scanner's apology")
    finally:
        scanner.stop()
        thread.join(5)
    assert not thread.is_alive()
