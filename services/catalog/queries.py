"""Reading the catalogue: procedure search with filters, lookups, reference lists."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.catalog import problems
from services.catalog.folding import folded_words
from services.catalog.models import (
    Agency,
    Field,
    LifeEvent,
    Procedure,
    ProcedureAgency,
    ProcedureLifeEvent,
)
from services.catalog.search import search_index_for
from services.core.problems import Conflict, NotFound, ValidationProblem

_PROCEDURE_CODE = re.compile(r"^[0-9]{1,2}\.[0-9]{6}$")
SUMMARY_KEYS = (
    "code",
    "name",
    "province",
    "field",
    "service_level",
    "processing_days",
    "audience",
    "version",
)


@dataclass(frozen=True)
class ProcedureQuery:
    """A citizen's search: words and filters, one page of the result."""

    q: str = ""
    agency: str | None = None
    province: str | None = None
    level: str | None = None
    field: str | None = None
    life_event: str | None = None
    online: str | None = None
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def _require_known(session: Session, query: ProcedureQuery) -> None:
    checks = (
        (query.agency, Agency, problems.UNKNOWN_AGENCY, "agency"),
        (query.field, Field, problems.UNKNOWN_FIELD, "field"),
        (query.life_event, LifeEvent, problems.UNKNOWN_LIFE_EVENT, "life_event"),
    )
    for code, model, problem_code, name in checks:
        if code is not None and session.get(model, code) is None:
            raise ValidationProblem(problem_code, errors={name: [f"unknown code {code!r}"]})


def search_procedures(session: Session, query: ProcedureQuery, max_words: int = 8) -> Page:
    """Procedures matching every word of `q` (any order, any case, with or without
    diacritics) and every filter; name matches rank before description matches."""
    _require_known(session, query)
    words = list(dict.fromkeys(folded_words(query.q)))
    if len(words) > max_words:
        raise ValidationProblem(
            problems.QUERY_TOO_LONG, errors={"q": [f"at most {max_words} words"]}
        )
    base = select(Procedure.id).where(Procedure.withdrawn_at.is_(None))
    if query.province is not None:
        base = base.where(Procedure.province == query.province)
    if query.field is not None:
        base = base.where(Procedure.field_code == query.field)
    if query.online is not None:
        base = base.where(Procedure.service_level == query.online)
    if query.agency is not None:
        base = base.where(
            Procedure.id.in_(
                select(ProcedureAgency.procedure_id).where(
                    ProcedureAgency.agency_code == query.agency
                )
            )
        )
    if query.level is not None:
        base = base.where(
            Procedure.id.in_(
                select(ProcedureAgency.procedure_id).where(ProcedureAgency.level == query.level)
            )
        )
    if query.life_event is not None:
        base = base.where(
            Procedure.id.in_(
                select(ProcedureLifeEvent.procedure_id).where(
                    ProcedureLifeEvent.life_event_code == query.life_event
                )
            )
        )
    offset = (query.page - 1) * query.per_page
    unfiltered = all(
        value is None
        for value in (
            query.agency,
            query.province,
            query.level,
            query.field,
            query.life_event,
            query.online,
        )
    )
    index = search_index_for(session)
    shortcut = None
    if words and unfiltered and not _PROCEDURE_CODE.match(query.q.strip()):
        shortcut = index.words_only(session, words, query.per_page, offset)
    if shortcut is not None:
        total, ids = shortcut
        return Page(_summaries(session, ids), total, query.page, query.per_page)
    order: list[Any] = []
    if _PROCEDURE_CODE.match(query.q.strip()):
        base = base.where(Procedure.code == query.q.strip())
    elif words:
        ranked = index.match(base, words)
        base, order = ranked.statement, ranked.order_by
    # One pass over the matches: the page and the total together (a window count).
    page_stmt = (
        base.add_columns(func.count().over().label("total"))
        .order_by(*order, Procedure.code, Procedure.province)
        .limit(query.per_page)
        .offset(offset)
    )
    rows = session.execute(page_stmt).all()
    if rows:
        total = int(rows[0].total)
    elif offset == 0:
        total = 0
    else:  # a page past the end: count on its own
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    ids = [int(row[0]) for row in rows]
    return Page(_summaries(session, ids), int(total), query.page, query.per_page)


def _summaries(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The list items of the given procedures, in the given order."""
    rows = {p.id: p for p in session.scalars(select(Procedure).where(Procedure.id.in_(ids)))}
    return [{k: rows[i].body.get(k) for k in SUMMARY_KEYS} for i in ids if i in rows]


def find_procedure(session: Session, code: str, province: str | None, home: str) -> Procedure:
    """The live procedure `code`; without `province`, this deployment's own copy, or the
    only copy; several provinces' copies without a choice is a conflict naming them."""
    stmt = select(Procedure).where(Procedure.code == code, Procedure.withdrawn_at.is_(None))
    if province is not None:
        stmt = stmt.where(Procedure.province == province)
    found = list(session.scalars(stmt))
    if not found:
        raise NotFound(problems.PROCEDURE_NOT_FOUND, procedure=code)
    own = [p for p in found if p.province == home]
    if own:
        return own[0]
    if len(found) == 1:
        return found[0]
    raise Conflict(
        problems.PROCEDURE_AMBIGUOUS,
        procedure=code,
        provinces=sorted(p.province for p in found),
    )


def agency_json(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "level": agency.level,
        "parent": agency.parent_code,
        "province": agency.province,
    }


def list_agencies(
    session: Session, province: str | None, level: str | None, parent: str | None
) -> list[dict[str, Any]]:
    stmt = select(Agency)
    if province is not None:
        stmt = stmt.where(Agency.province == province)
    if level is not None:
        stmt = stmt.where(Agency.level == level)
    if parent is not None:
        if session.get(Agency, parent) is None:
            raise ValidationProblem(
                problems.UNKNOWN_AGENCY, errors={"parent": [f"unknown code {parent!r}"]}
            )
        stmt = stmt.where(Agency.parent_code == parent)
    return [agency_json(a) for a in session.scalars(stmt.order_by(Agency.code))]


def list_fields(session: Session) -> list[dict[str, Any]]:
    return [
        {"code": f.code, "name": f.name}
        for f in session.scalars(select(Field).order_by(Field.code))
    ]


def list_life_events(session: Session) -> list[dict[str, Any]]:
    return [
        {"code": e.code, "name": e.name, "audience": e.audience}
        for e in session.scalars(select(LifeEvent).order_by(LifeEvent.audience, LifeEvent.code))
    ]
