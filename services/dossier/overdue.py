"""The overdue scan: past-due dossiers get an apology slip with a new date (Decree 61/2018)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import record_event
from services.core.contracts.dossier import Event
from services.core.contracts.notify import Template
from services.core.db import transaction
from services.dossier.calendar import end_of_office_day, local_date
from services.dossier.context import DossierContext
from services.dossier.domain import CLOCK_RUNNING, SYSTEM
from services.dossier.models import Dossier, HistoryEntry
from services.dossier.workflow import event_data, notify_citizen

log = logging.getLogger(__name__)
APOLOGY_REASON = "Hồ sơ chưa được giải quyết đúng hạn; cơ quan xin lỗi và hẹn lại ngày trả kết quả."


def apologise(session: Session, ctx: DossierContext, dossier_id: str, now: datetime) -> bool:
    """Under a row lock, give one overdue dossier a new date; False if no longer overdue."""
    dossier = session.scalars(
        select(Dossier).where(Dossier.id == dossier_id).with_for_update()
    ).one_or_none()
    if (
        dossier is None
        or dossier.status not in CLOCK_RUNNING
        or dossier.promised_at is None
        or dossier.promised_at >= now
    ):
        return False
    missed = dossier.promised_at
    new_day = ctx.calendar.add_working_days(local_date(now), ctx.config.apology_extension_days)
    dossier.promised_at = end_of_office_day(new_day)
    dossier.apologies += 1
    dossier.updated_at = now
    session.add(
        HistoryEntry(
            dossier_id=dossier.id,
            at=now,
            from_status=dossier.status,
            to_status=dossier.status,
            actor_id=None,
            actor_role=SYSTEM.role,
            note=f"overdue: new date {new_day.isoformat()}",
        )
    )
    record_event(
        session,
        Event.OVERDUE,
        event_data(dossier, missed_at=missed.isoformat().replace("+00:00", "Z")),
        subject=dossier.id,
    )
    notify_citizen(
        session,
        dossier,
        Template.DOSSIER_OVERDUE_APOLOGY,
        {"new_due_date": new_day.strftime("%d/%m/%Y"), "reason": APOLOGY_REASON},
    )
    return True


def scan_overdue(sessions: sessionmaker[Session], ctx: DossierContext, now: datetime) -> int:
    """Apologise for every dossier past its promised date; returns how many got a new date."""
    done = 0
    while True:
        with sessions() as session:
            ids = session.scalars(
                select(Dossier.id)
                .where(Dossier.status.in_(CLOCK_RUNNING), Dossier.promised_at < now)
                .order_by(Dossier.promised_at)
                .limit(ctx.config.overdue_batch_size)
            ).all()
        if not ids:
            break
        for dossier_id in ids:
            with transaction(sessions) as session:
                if apologise(session, ctx, dossier_id, now):
                    done += 1
        if len(ids) < ctx.config.overdue_batch_size:
            break
    if done:
        log.info("overdue scan: %s apology notices", done)
    return done
