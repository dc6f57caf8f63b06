"""Events the catalog service publishes and the handlers its worker runs.

Published (see publishing.py): catalog.procedure.published / .updated / .withdrawn.
Consumed on a national deployment only: the provinces' catalog.procedure.* events, kept
in the union catalogue; events of this deployment's own catalogue are skipped.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from services.catalog import SERVICE
from services.catalog.context import CatalogContext
from services.catalog.replica import apply_procedure_event
from services.core.bus import Consumer, Envelope, Names, PermanentError
from services.core.contracts.catalog import PROCEDURE_EVENT_PATTERN, PROCEDURE_EVENTS

log = logging.getLogger(__name__)


def build_consumer(ctx: CatalogContext, *, names: Names | None = None) -> Consumer:
    """The service's consumer with every handler registered (none on a province)."""
    settings = ctx.settings
    consumer = Consumer(SERVICE, ctx.sessions, settings.bus, names=names)
    if settings.portal_role == "national":
        register_union_handlers(consumer, own_province=settings.province)
    return consumer


def register_union_handlers(consumer: Consumer, own_province: str) -> None:
    """Keep the provinces' procedures in this (national) catalogue."""

    @consumer.on_event(PROCEDURE_EVENT_PATTERN)
    def copy_province_procedure(session: Session, envelope: Envelope) -> None:
        if envelope.province == own_province:
            return  # our own publication: the catalogue already holds it
        if envelope.type not in PROCEDURE_EVENTS:
            raise PermanentError(f"unexpected event type {envelope.type}")
        procedure = envelope.data.get("procedure")
        if not isinstance(procedure, dict):
            raise PermanentError("event data has no procedure object")
        apply_procedure_event(session, envelope.type, procedure, envelope.province)
