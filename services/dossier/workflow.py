"""The dossier's life after filing: a guarded state machine with deadlines.

Every transition happens under a row lock, only from the statuses that allow it, is
recorded in the history with the actor, emits its event and, in the same transaction,
asks notify to tell the citizen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.core.bus import record_event
from services.core.contracts.dossier import Event
from services.core.contracts.notify import Channel, Template, send_notification
from services.core.problems import Conflict, Problem, ValidationProblem
from services.dossier.calendar import VIETNAM_TZ, end_of_office_day, local_date
from services.dossier.context import DossierContext
from services.dossier.domain import Actor, AttachmentKind, Role, Status
from services.dossier.filing import is_owner, load, missing_parts, store_attachment
from services.dossier.models import CodeSequence, Dossier, HistoryEntry

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status]] = {
    "submit": ((Status.DRAFT,), Status.SUBMITTED),
    "receive": ((Status.SUBMITTED,), Status.PROCESSING),
    "request_supplement": ((Status.SUBMITTED, Status.PROCESSING), Status.SUPPLEMENT_REQUESTED),
    "resubmit": ((Status.SUPPLEMENT_REQUESTED,), Status.PROCESSING),
    "return_result": ((Status.PROCESSING,), Status.RESULT_RETURNED),
    "reject": ((Status.SUBMITTED, Status.PROCESSING), Status.REJECTED),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def event_data(dossier: Dossier, **extra: Any) -> dict[str, Any]:
    """What anyone on portal.events may know of a dossier: nothing personal."""
    data: dict[str, Any] = {
        "dossier_id": dossier.id,
        "code": dossier.code,
        "procedure_code": dossier.procedure_code,
        "procedure_version": dossier.procedure_version,
        "agency_code": dossier.agency_code,
        "province": dossier.province,
        "status": dossier.status,
        "anonymous": dossier.anonymous,
        "submitted_at": _iso(dossier.submitted_at),
        "due_at": _iso(dossier.due_at),
        "promised_at": _iso(dossier.promised_at),
        "finished_at": _iso(dossier.finished_at),
    }
    data.update(extra)
    return data


def _local_day(moment: datetime | None) -> str:
    return local_date(moment).strftime("%d/%m/%Y") if moment else ""


def notify_citizen(
    session: Session, dossier: Dossier, template: Template, personalisation: dict[str, Any]
) -> None:
    """notify.send to the applicant: inbox, SMS and e-mail; e-mail only when anonymous."""
    applicant = dossier.applicant or {}
    phone = applicant.get("phone") if not dossier.anonymous else None
    email = applicant.get("email")
    channels: list[Channel] = []
    if not dossier.anonymous and dossier.account_id:
        channels.append(Channel.INBOX)
    if phone:
        channels.append(Channel.SMS)
    if email:
        channels.append(Channel.EMAIL)
    if not channels:
        return
    send_notification(
        session,
        template,
        channels=channels,
        personalisation={"dossier_code": dossier.code, **personalisation},
        account_id=dossier.account_id,
        phone=phone,
        email=email,
        reference=dossier.id,
    )


def _move(
    session: Session,
    dossier: Dossier,
    action: str,
    actor: Actor,
    now: datetime,
    note: str | None = None,
) -> Status:
    allowed, target = TRANSITIONS[action]
    if dossier.status not in allowed:
        raise Conflict(
            "invalid_transition",
            action=action,
            current_status=dossier.status,
            allowed_from=list(allowed),
        )
    previous = Status(dossier.status)
    dossier.status = target
    dossier.updated_at = now
    session.add(
        HistoryEntry(
            dossier_id=dossier.id,
            at=now,
            from_status=previous,
            to_status=target,
            actor_id=actor.id,
            actor_role=actor.role,
            note=note,
        )
    )
    return previous


def allocate_code(session: Session, agency_code: str, now: datetime) -> str:
    """`<agency>-<YYMMDD>-<NNNN>`: numbered per agency per (Vietnamese) day, atomically."""
    day = now.astimezone(VIETNAM_TZ).strftime("%y%m%d")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(CodeSequence)
        .values(agency_code=agency_code, day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["agency_code", "day"],
            set_={"last_value": CodeSequence.last_value + 1},
        )
        .returning(CodeSequence.last_value)
    )
    if dialect != "postgresql":
        number = session.execute(statement).scalar_one()  # SQLite: one writer at a time
        return f"{agency_code}-{day}-{number:04d}"
    # Every submission of an agency on one day takes this one row. In the submission's
    # transaction its lock would last until that commits, so they would all queue behind
    # each other's remaining work; in a transaction of its own it lasts one round trip.
    # A submission that fails after this leaves its number unused. Without waiting for
    # the disk: the submission's own commit, later in the same log, makes it durable.
    bind = session.get_bind()
    with bind.engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        number = connection.execute(statement).scalar_one()
    return f"{agency_code}-{day}-{number:04d}"


def _due(ctx: DossierContext, start: datetime, days: int) -> datetime:
    return end_of_office_day(ctx.calendar.add_working_days(local_date(start), days))


def file_dossier(
    session: Session, ctx: DossierContext, dossier: Dossier, actor: Actor, now: datetime
) -> Dossier:
    """Submit a locked draft: completeness, code, due date, history, event, notice."""
    if dossier.status != Status.DRAFT:
        _move(session, dossier, "submit", actor, now)
    missing = missing_parts(session, dossier)
    if missing:
        raise ValidationProblem("incomplete", missing=missing)
    _move(session, dossier, "submit", actor, now)
    dossier.code = allocate_code(session, dossier.agency_code, now)
    dossier.submitted_at = now
    days = int(dossier.procedure.get("processing_days") or 0)
    dossier.due_at = dossier.promised_at = _due(ctx, now, days)
    record_event(session, Event.SUBMITTED, event_data(dossier), subject=dossier.id)
    notify_citizen(
        session,
        dossier,
        Template.DOSSIER_SUBMITTED,
        {"procedure_name": dossier.procedure_name, "due_date": _local_day(dossier.due_at)},
    )
    return dossier


def submit(
    session: Session, ctx: DossierContext, dossier_id: str, actor: Actor, now: datetime
) -> Dossier:
    dossier = load(session, dossier_id, actor, lock=True)
    if not is_owner(dossier, actor):
        raise Problem("forbidden", status=403)
    return file_dossier(session, ctx, dossier, actor, now)


def _officer_dossier(session: Session, dossier_id: str, actor: Actor) -> Dossier:
    if actor.role not in (Role.OFFICER, Role.ADMIN):
        raise Problem("forbidden", status=403)
    return load(session, dossier_id, actor, lock=True)


def receive(session: Session, dossier_id: str, actor: Actor, now: datetime) -> Dossier:
    dossier = _officer_dossier(session, dossier_id, actor)
    _move(session, dossier, "receive", actor, now)
    dossier.received_at = now
    record_event(session, Event.RECEIVED, event_data(dossier), subject=dossier.id)
    notify_citizen(
        session,
        dossier,
        Template.DOSSIER_RECEIVED,
        {"procedure_name": dossier.procedure_name, "due_date": _local_day(dossier.promised_at)},
    )
    return dossier


def request_supplement(
    session: Session, ctx: DossierContext, dossier_id: str, actor: Actor, reason: str, now: datetime
) -> Dossier:
    """Stop the clock and ask for more; an anonymous filer is told to file anew."""
    dossier = _officer_dossier(session, dossier_id, actor)
    _move(session, dossier, "request_supplement", actor, now, note=reason)
    today = local_date(now)
    due_day = local_date(dossier.due_at) if dossier.due_at else today
    # At least one working day is left to the officer after a resubmission.
    dossier.remaining_days = max(1, ctx.calendar.working_days_between(today, due_day))
    dossier.paused_at = now
    dossier.reason = reason
    record_event(session, Event.SUPPLEMENT_REQUESTED, event_data(dossier), subject=dossier.id)
    notify_citizen(
        session,
        dossier,
        Template.DOSSIER_SUPPLEMENT_REQUESTED,
        {"reason": reason, "file_anew": dossier.anonymous},
    )
    return dossier


def resubmit(
    session: Session, ctx: DossierContext, dossier_id: str, actor: Actor, now: datetime
) -> Dossier:
    """The clock resumes with the working days that were left when it stopped."""
    dossier = load(session, dossier_id, actor, lock=True)
    if not is_owner(dossier, actor):
        raise Problem("forbidden", status=403)
    if dossier.status == Status.SUPPLEMENT_REQUESTED:
        missing = missing_parts(session, dossier)
        if missing:
            raise ValidationProblem("incomplete", missing=missing)
    _move(session, dossier, "resubmit", actor, now)
    if dossier.paused_at is not None:
        dossier.paused_days += ctx.calendar.working_days_between(
            local_date(dossier.paused_at), local_date(now)
        )
    dossier.due_at = dossier.promised_at = _due(ctx, now, dossier.remaining_days or 1)
    dossier.remaining_days = None
    dossier.paused_at = None
    record_event(session, Event.RESUBMITTED, event_data(dossier), subject=dossier.id)
    notify_citizen(
        session, dossier, Template.DOSSIER_RESUBMITTED, {"procedure_name": dossier.procedure_name}
    )
    return dossier


def _finish(ctx: DossierContext, dossier: Dossier, now: datetime) -> None:
    dossier.finished_at = now
    if dossier.submitted_at is not None:
        taken = ctx.calendar.working_days_between(local_date(dossier.submitted_at), local_date(now))
        dossier.working_days_taken = max(0, taken - dossier.paused_days)


def return_result(
    session: Session,
    ctx: DossierContext,
    dossier_id: str,
    actor: Actor,
    note: str | None,
    result_files: list[tuple[str | None, bytes]],
    now: datetime,
) -> Dossier:
    dossier = _officer_dossier(session, dossier_id, actor)
    _move(session, dossier, "return_result", actor, now, note=note)
    for name, data in result_files:
        store_attachment(
            session,
            ctx,
            dossier,
            kind=AttachmentKind.RESULT,
            document_code="result",
            file_name=name,
            data=data,
            uploaded_by=actor.id,
            now=now,
        )
    dossier.result_note = note
    _finish(ctx, dossier, now)
    on_time = dossier.due_at is None or now <= dossier.due_at
    record_event(
        session, Event.RESULT_RETURNED, event_data(dossier, on_time=on_time), subject=dossier.id
    )
    method = (dossier.delivery or {}).get("method", "online")
    notify_citizen(session, dossier, Template.DOSSIER_RESULT_RETURNED, {"delivery_method": method})
    return dossier


def reject(
    session: Session, ctx: DossierContext, dossier_id: str, actor: Actor, reason: str, now: datetime
) -> Dossier:
    dossier = _officer_dossier(session, dossier_id, actor)
    _move(session, dossier, "reject", actor, now, note=reason)
    dossier.reason = reason
    _finish(ctx, dossier, now)
    record_event(session, Event.REJECTED, event_data(dossier), subject=dossier.id)
    notify_citizen(session, dossier, Template.DOSSIER_REJECTED, {"reason": reason})
    return dossier


def rate(
    session: Session,
    dossier_id: str,
    actor: Actor,
    score: int,
    comment: str | None,
    now: datetime,
) -> Dossier:
    """The owner's satisfaction score, once, after the result was returned."""
    dossier = load(session, dossier_id, actor, lock=True)
    if not is_owner(dossier, actor):
        raise Problem("forbidden", status=403)
    if dossier.status != Status.RESULT_RETURNED:
        raise Conflict("invalid_transition", action="rate", current_status=dossier.status)
    if dossier.rating_score is not None:
        raise Conflict("already_rated")
    dossier.rating_score = score
    dossier.rating_comment = comment
    dossier.rated_at = now
    dossier.updated_at = now
    record_event(session, Event.RATED, event_data(dossier, score=score), subject=dossier.id)
    return dossier


def history(session: Session, dossier_id: str) -> list[HistoryEntry]:
    return list(
        session.scalars(
            select(HistoryEntry)
            .where(HistoryEntry.dossier_id == dossier_id)
            .order_by(HistoryEntry.id)
        ).all()
    )
