"""Reading dossiers: folders with counts, the officer's queue, public lookup, statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from services.core.problems import NotFound
from services.dossier.calendar import VIETNAM_TZ
from services.dossier.domain import CLOCK_RUNNING, Actor, Role, Status
from services.dossier.models import Attachment, Dossier
from services.dossier.workflow import history


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


def folder_page(
    session: Session, actor: Actor, status: str | None, page: int, per_page: int, now: datetime
) -> dict[str, Any]:
    """One page of `folders` as the API answers it: summaries, total, counts."""
    found = folders(session, actor, status, page, per_page)
    return {
        "items": [summary(d, now) for d in found.items],
        "total": found.total,
        "page": page,
        "per_page": per_page,
        "counts": found.counts,
    }


def summary(dossier: Dossier, now: datetime) -> dict[str, Any]:
    """A dossier's columns and whether it is overdue now."""
    return {
        **{c.key: getattr(dossier, c.key) for c in Dossier.__table__.columns},
        "overdue": is_overdue(dossier, now),
    }


def detail(session: Session, dossier: Dossier, now: datetime) -> dict[str, Any]:
    """The full dossier: its summary, rating, attachments and processing history."""
    attachments = session.scalars(
        select(Attachment)
        .where(Attachment.dossier_id == dossier.id)
        .order_by(Attachment.created_at)
    ).all()
    rating = (
        {"score": dossier.rating_score, "comment": dossier.rating_comment, "at": dossier.rated_at}
        if dossier.rating_score is not None
        else None
    )
    return {
        **summary(dossier, now),
        "rating": rating,
        "attachments": attachments,
        "history": history(session, dossier.id),
    }


def is_overdue(dossier: Dossier, now: datetime) -> bool:
    return dossier.status in CLOCK_RUNNING and dossier.due_at is not None and dossier.due_at < now


def lookup(session: Session, code: str) -> Dossier:
    dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one_or_none()
    if dossier is None:
        raise NotFound()
    return dossier


def day_start(day: date | None) -> datetime | None:
    """The first moment of a day in Vietnam, in UTC."""
    return None if day is None else datetime.combine(day, time.min, VIETNAM_TZ).astimezone(UTC)


def day_end(day: date | None) -> datetime | None:
    """The last moment of a day in Vietnam, in UTC."""
    return None if day is None else datetime.combine(day, time.max, VIETNAM_TZ).astimezone(UTC)


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
