"""The local read copy of the catalogue's procedures: fed by events, seeded over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import utcnow
from services.core.db import transaction
from services.dossier.models import CatalogProcedure

log = logging.getLogger(__name__)


def _version(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def apply_procedure(session: Session, procedure: dict[str, Any], *, withdrawn: bool) -> bool:
    """Store a procedure version unless a newer or equal one is already held.

    Returns True when the read copy changed. Extra fields are kept as they came.
    """
    code = str(procedure["code"])
    province = str(procedure.get("province") or "")
    version = _version(procedure.get("version"))
    row = session.scalars(
        select(CatalogProcedure)
        .where(CatalogProcedure.code == code, CatalogProcedure.province == province)
        .with_for_update()
    ).one_or_none()
    if row is None:
        session.add(
            CatalogProcedure(
                code=code,
                province=province,
                version=version,
                withdrawn=withdrawn,
                data=dict(procedure),
                updated_at=utcnow(),
            )
        )
        return True
    if version < row.version or (version == row.version and not withdrawn):
        return False
    row.version = version
    row.withdrawn = withdrawn
    if not withdrawn:
        row.data = dict(procedure)
    row.updated_at = utcnow()
    return True


def find_procedure(
    session: Session, code: str, agency_code: str
) -> tuple[CatalogProcedure, dict[str, Any]] | None:
    """The current procedure `code` executed by `agency_code`, with that agency's entry."""
    rows = session.scalars(
        select(CatalogProcedure).where(
            CatalogProcedure.code == code, CatalogProcedure.withdrawn.is_(False)
        )
    ).all()
    for row in rows:
        for agency in row.data.get("agencies") or []:
            if isinstance(agency, dict) and agency.get("code") == agency_code:
                return row, agency
    return None


def procedure_exists(session: Session, code: str) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(CatalogProcedure)
            .where(CatalogProcedure.code == code, CatalogProcedure.withdrawn.is_(False))
        )
        or 0
    ) > 0


def read_copy_is_empty(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(CatalogProcedure)) or 0) == 0


def sync_from_catalog(
    sessions: sessionmaker[Session], base_url: str, *, timeout: float = 5.0, per_page: int = 100
) -> int:
    """Copy every published procedure from the catalogue API; returns how many were stored."""
    stored = 0
    page = 1
    with requests.Session() as http:
        while True:
            response = http.get(
                f"{base_url}/api/catalog/procedures",
                params={"page": page, "per_page": per_page},
                timeout=timeout,
            )
            response.raise_for_status()
            body = response.json()
            items = body.get("items") or []
            for item in items:
                detail = http.get(
                    f"{base_url}/api/catalog/procedures/{item['code']}", timeout=timeout
                )
                detail.raise_for_status()
                with transaction(sessions) as session:
                    if apply_procedure(session, detail.json(), withdrawn=False):
                        stored += 1
            total = int(body.get("total") or 0)
            if not items or page * per_page >= total:
                break
            page += 1
    log.info("catalogue sync stored %s procedures", stored)
    return stored


def sync_if_empty(sessions: sessionmaker[Session], base_url: str, *, timeout: float = 5.0) -> int:
    """The start-up sync: only when the read copy holds nothing yet."""
    with sessions() as session:
        if not read_copy_is_empty(session):
            return 0
    return sync_from_catalog(sessions, base_url, timeout=timeout)
