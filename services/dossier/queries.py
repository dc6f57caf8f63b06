"""Reading dossiers: folders with counts, the officer's queue, public lookup, statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from services.core.problems import NotFound
from services.dossier.domain import CLOCK_RUNNING, Actor, Role, Status
from services.dossier.models import Dossier


@dataclass(frozen=True)
class Page:
    items: list[Dossier]
    total: int
    counts: dict[str, int]


def _scope(actor: Actor) -> list[Any]:
    if actor.role == Role.ADMIN:
        return [Dossier.status != Status.DRAFT]
    if actor.role == Role.OFFICER:
        return [Dossier.agency_code == actor.agency, Dossier.status != Status.DRAFT]
    return [Dossier.account_id == actor.id]


def folders(session: Session, actor: Actor, status: str | None, page: int, per_page: int) -> Page:
    """A citizen's own dossiers, or an officer's queue ordered by due date."""
    scope = _scope(actor)
    counts = {s.value: 0 for s in Status}
    for value, count in session.execute(
        select(Dossier.status, func.count()).where(*scope).group_by(Dossier.status)
    ).all():
        counts[value] = count
    query: Select[Dossier] = select(Dossier).where(*scope)
    if status:
        query = query.where(Dossier.status == status)
    if actor.role == Role.CITIZEN:
        query = query.order_by(Dossier.created_at.desc(), Dossier.id)
    else:
        query = query.order_by(Dossier.due_at.is_(None), Dossier.due_at, Dossier.id)
    total = counts.get(status, 0) if status else sum(counts.values())
    items = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all())
    return Page(items, total, counts)


def is_overdue(dossier: Dossier, now: datetime) -> bool:
    return dossier.status in CLOCK_RUNNING and dossier.due_at is not None and dossier.due_at < now


def lookup(session: Session, code: str) -> Dossier:
    dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one_or_none()
    if dossier is None:
        raise NotFound()
    return dossier


def statistics(
    session: Session,
    *,
    agency: str | None = None,
    province: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """Decision 766 building blocks over dossiers filed in [start, end).

    on_time_rate: results returned by the legal due date / results returned;
    average_days_to_result: working days from filing to result, supplement pauses excluded;
    online_share: dossiers filed online / dossiers filed; average_rating: mean score.
    """
    where = [Dossier.status != Status.DRAFT]
    if agency:
        where.append(Dossier.agency_code == agency)
    if province:
        where.append(Dossier.province == province)
    if start:
        where.append(Dossier.submitted_at >= start)
    if end:
        where.append(Dossier.submitted_at < end)
    counts = {s.value: 0 for s in Status if s != Status.DRAFT}
    for value, count in session.execute(
        select(Dossier.status, func.count()).where(*where).group_by(Dossier.status)
    ).all():
        counts[value] = count
    returned = Dossier.status == Status.RESULT_RETURNED
    row = session.execute(
        select(
            func.count(),
            func.sum(case((Dossier.channel == "online", 1), else_=0)),
            func.sum(case((returned, 1), else_=0)),
            func.sum(case((and_(returned, Dossier.finished_at <= Dossier.due_at), 1), else_=0)),
            func.avg(case((returned, Dossier.working_days_taken), else_=None)),
            func.avg(Dossier.rating_score),
            func.count(Dossier.rating_score),
        ).where(*where)
    ).one()
    total, online, results, on_time, avg_days, avg_rating, ratings = row
    return {
        "total": int(total or 0),
        "counts": counts,
        "results_returned": int(results or 0),
        "on_time": int(on_time or 0),
        "on_time_rate": round(int(on_time or 0) / results, 4) if results else None,
        "average_days_to_result": round(float(avg_days), 2) if avg_days is not None else None,
        "online_share": round(int(online or 0) / total, 4) if total else None,
        "average_rating": round(float(avg_rating), 2) if avg_rating is not None else None,
        "ratings": int(ratings or 0),
    }
