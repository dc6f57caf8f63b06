"""Changing the catalogue: publish, update and withdraw procedures, with their events.

Every change bumps the procedure's version and records its event in the same
transaction (transactional outbox), so the dossier service and the national portal
keep exact read copies. The event's `data.procedure` is exactly the public JSON.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.catalog import problems
from services.catalog.constants import NATIONAL
from services.catalog.folding import folded_text
from services.catalog.models import (
    Agency,
    Field,
    LifeEvent,
    Procedure,
    ProcedureAgency,
    ProcedureLifeEvent,
)
from services.catalog.queries import agency_json
from services.catalog.search import search_index_for
from services.core.bus import record_event
from services.core.contracts.catalog import (
    PROCEDURE_PUBLISHED,
    PROCEDURE_UPDATED,
    PROCEDURE_WITHDRAWN,
)
from services.core.problems import Conflict, NotFound, ValidationProblem

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _check_form(form: dict[str, Any]) -> None:
    if not form:
        return
    try:
        Draft202012Validator.check_schema(form)
    except SchemaError as exc:
        raise ValidationProblem(
            problems.INVALID_FORM_SCHEMA, errors={"form": [exc.message]}
        ) from exc
    if form.get("type") != "object":
        raise ValidationProblem(
            problems.INVALID_FORM_SCHEMA, errors={"form": ["the declaration must be an object"]}
        )


def build_body(
    session: Session, data: dict[str, Any], province: str, version: int
) -> dict[str, Any]:
    """The public JSON of a procedure from an administrator's input (codes resolved)."""
    field = session.get(Field, data["field"])
    if field is None:
        raise ValidationProblem(problems.UNKNOWN_FIELD, errors={"field": ["unknown code"]})
    life_events = []
    for code in dict.fromkeys(data.get("life_events", [])):
        event = session.get(LifeEvent, code)
        if event is None:
            raise ValidationProblem(
                problems.UNKNOWN_LIFE_EVENT, errors={"life_events": [f"unknown code {code!r}"]}
            )
        life_events.append({"code": event.code, "name": event.name, "audience": event.audience})
    codes = list(dict.fromkeys(data["agencies"]))
    found = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValidationProblem(
            problems.UNKNOWN_AGENCY, errors={"agencies": [f"unknown codes: {', '.join(missing)}"]}
        )
    if province != NATIONAL:
        outside = [c for c in codes if found[c].province != province]
        if outside:
            raise ValidationProblem(
                problems.AGENCY_OUTSIDE_PROVINCE,
                errors={"agencies": [f"not in province {province}: {', '.join(outside)}"]},
            )
    documents = data.get("documents", [])
    doc_codes = [d["code"] for d in documents]
    if len(set(doc_codes)) != len(doc_codes):
        raise ValidationProblem(
            problems.DUPLICATE_DOCUMENT, errors={"documents": ["document codes must be unique"]}
        )
    form = data.get("form") or {}
    _check_form(form)
    return {
        "code": data["code"],
        "name": data["name"],
        "description": data.get("description", ""),
        "field": {"code": field.code, "name": field.name},
        "life_events": life_events,
        "audience": list(dict.fromkeys(data.get("audience") or ["citizen"])),
        "agencies": [agency_json(found[c]) for c in codes],
        "service_level": data["service_level"],
        "processing_days": data["processing_days"],
        "fees": [
            {
                "name": f["name"],
                "amount": f["amount"],
                "online_amount": f.get("online_amount"),
                "note": f.get("note", ""),
            }
            for f in data.get("fees", [])
        ],
        "documents": [
            {
                "code": d["code"],
                "name": d["name"],
                "required": d.get("required", True),
                "copies": d.get("copies", 1),
                "template": d.get("template"),
            }
            for d in documents
        ],
        "form": form,
        "result_delivery": list(dict.fromkeys(data["result_delivery"])),
        "legal_basis": list(data.get("legal_basis", [])),
        "steps": list(data.get("steps", [])),
        "version": version,
        "province": province,
    }


def _locked(session: Session, code: str, province: str) -> Procedure | None:
    return session.scalars(
        select(Procedure)
        .where(Procedure.code == code, Procedure.province == province)
        .with_for_update()
    ).first()


def store_procedure(session: Session, row: Procedure | None, body: dict[str, Any]) -> Procedure:
    """Write the row, its filter links and its search entry from the public JSON."""
    if row is None:
        row = Procedure(code=body["code"], province=body["province"])
        session.add(row)
    row.name = body["name"]
    row.name_folded = folded_text(body["name"])
    row.description_folded = folded_text(body.get("description", ""))
    row.field_code = body["field"]["code"]
    row.service_level = body["service_level"]
    row.version = body["version"]
    row.body = body
    row.updated_at = _now()
    row.withdrawn_at = None
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(problems.PROCEDURE_EXISTS, procedure=body["code"]) from exc
    session.execute(delete(ProcedureAgency).where(ProcedureAgency.procedure_id == row.id))
    session.execute(delete(ProcedureLifeEvent).where(ProcedureLifeEvent.procedure_id == row.id))
    session.add_all(
        ProcedureAgency(procedure_id=row.id, agency_code=a["code"], level=a["level"])
        for a in {a["code"]: a for a in body["agencies"]}.values()
    )
    session.add_all(
        ProcedureLifeEvent(procedure_id=row.id, life_event_code=e["code"])
        for e in {e["code"]: e for e in body["life_events"]}.values()
    )
    search_index_for(session).index(session, row, row.description_folded)
    return row


def publish(session: Session, data: dict[str, Any], province: str) -> dict[str, Any]:
    """A new procedure (or one withdrawn earlier, published again with the next version)."""
    row = _locked(session, data["code"], province)
    if row is not None and row.withdrawn_at is None:
        raise Conflict(problems.PROCEDURE_EXISTS, procedure=data["code"])
    version = 1 if row is None else row.version + 1
    body = build_body(session, data, province, version)
    store_procedure(session, row, body)
    record_event(session, PROCEDURE_PUBLISHED, {"procedure": body}, subject=body["code"])
    log.info("procedure published", extra={"procedure": body["code"], "version": version})
    return body


def update(
    session: Session,
    code: str,
    data: dict[str, Any],
    province: str,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Replace a live procedure; the version goes up by one."""
    row = _locked(session, code, province)
    if row is None or row.withdrawn_at is not None:
        raise NotFound(problems.PROCEDURE_NOT_FOUND, procedure=code)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(problems.VERSION_CONFLICT, procedure=code, version=row.version)
    body = build_body(session, {**data, "code": code}, province, row.version + 1)
    store_procedure(session, row, body)
    record_event(session, PROCEDURE_UPDATED, {"procedure": body}, subject=code)
    log.info("procedure updated", extra={"procedure": code, "version": body["version"]})
    return body


def withdraw(session: Session, code: str, province: str) -> dict[str, Any]:
    """Take a live procedure out of the catalogue; the version goes up by one."""
    row = _locked(session, code, province)
    if row is None or row.withdrawn_at is not None:
        raise NotFound(problems.PROCEDURE_NOT_FOUND, procedure=code)
    row.version += 1
    row.withdrawn_at = _now()
    row.updated_at = row.withdrawn_at
    row.body = {**row.body, "version": row.version}
    search_index_for(session).unindex(session, row.id)
    stub = {"code": code, "version": row.version, "province": province}
    record_event(session, PROCEDURE_WITHDRAWN, {"procedure": stub}, subject=code)
    log.info("procedure withdrawn", extra={"procedure": code, "version": row.version})
    return stub


def save(session: Session, data: dict[str, Any], province: str) -> str | None:
    """Publish or update so the catalogue holds `data`; nothing (no event) if it already
    does. Returns the event type recorded, if any (used by load-demo)."""
    row = _locked(session, data["code"], province)
    if row is None or row.withdrawn_at is not None:
        publish(session, data, province)
        return PROCEDURE_PUBLISHED
    wanted = build_body(session, data, province, row.version)
    if wanted == row.body:
        return None
    update(session, data["code"], data, province)
    return PROCEDURE_UPDATED
