"""The national union catalogue: provinces' procedures kept from their events.

Each copy is keyed by (code, province) and remembers the province it came from; an
event older than the copy (lower or equal version) changes nothing, so redelivered or
reordered events are harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog.models import Agency, Field, LifeEvent, Procedure
from services.catalog.publishing import store_procedure
from services.catalog.search import search_index_for
from services.core.bus import PermanentError
from services.core.contracts.catalog import PROCEDURE_WITHDRAWN

log = logging.getLogger(__name__)


def _upsert_references(session: Session, body: dict[str, Any], origin: str) -> None:
    field = body["field"]
    if session.get(Field, field["code"]) is None:
        session.add(Field(code=field["code"], name=field["name"]))
    for event in body.get("life_events", []):
        if session.get(LifeEvent, event["code"]) is None:
            session.add(
                LifeEvent(
                    code=event["code"],
                    name=event["name"],
                    audience=event.get("audience", "citizen"),
                )
            )
    for item in body.get("agencies", []):
        agency = session.get(Agency, item["code"])
        if agency is None:
            agency = Agency(code=item["code"])
            session.add(agency)
        agency.name = item["name"]
        agency.level = item["level"]
        agency.parent_code = item.get("parent")
        agency.province = item.get("province", "")
        agency.origin = origin
    session.flush()


def apply_procedure_event(
    session: Session, event_type: str, procedure: dict[str, Any], origin: str
) -> bool:
    """Bring the union's copy up to the event; False when the event was stale."""
    try:
        code, version = str(procedure["code"]), int(procedure["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"procedure without code or version: {exc}") from exc
    province = str(procedure.get("province", origin))
    if province != origin:
        raise PermanentError(f"procedure of province {province!r} sent by {origin!r}")
    row = session.scalars(
        select(Procedure)
        .where(Procedure.code == code, Procedure.province == province)
        .with_for_update()
    ).first()
    if row is not None and row.version >= version:
        log.info("stale procedure event skipped", extra={"procedure": code, "version": version})
        return False
    if event_type == PROCEDURE_WITHDRAWN:
        now = datetime.now(UTC)
        if row is None:
            # A tombstone, so an older publication arriving late cannot resurrect it.
            row = Procedure(
                code=code,
                province=province,
                name="",
                name_folded="",
                description_folded="",
                field_code="",
                service_level="",
                body={},
                updated_at=now,
            )
            session.add(row)
        row.version = version
        row.withdrawn_at = now
        row.updated_at = now
        row.body = {**row.body, **procedure}
        session.flush()
        search_index_for(session).unindex(session, row.id)
        return True
    required = ("name", "field", "agencies", "service_level")
    missing = [key for key in required if key not in procedure]
    if missing:
        raise PermanentError(f"procedure {code} lacks {', '.join(missing)}")
    _upsert_references(session, procedure, origin)
    body = dict(procedure)
    body.setdefault("description", "")
    body.setdefault("life_events", [])
    store_procedure(session, row, body)
    log.info(
        "procedure copied",
        extra={"procedure": code, "version": version, "province": province},
    )
    return True
