"""Events the dossier service publishes and the handlers its worker runs.

Published on portal.events (see services/core/contracts/dossier.py): dossier.submitted, .received,
.supplement_requested, .resubmitted, .result_returned, .rejected, .rated, .overdue.
Consumed: catalog.procedure.* to keep the local read copy of procedures.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from services.core.bus import Consumer, Envelope, Names, PermanentError
from services.core.contracts.catalog import PROCEDURE_EVENT_PATTERN as CATALOG_PROCEDURE_EVENTS
from services.core.contracts.catalog import PROCEDURE_WITHDRAWN
from services.dossier import SERVICE
from services.dossier.catalog import apply_procedure
from services.dossier.context import DossierContext

log = logging.getLogger(__name__)


def on_procedure_event(session: Session, envelope: Envelope) -> None:
    """Keep the read copy: newer versions replace older ones; withdrawals hide them."""
    procedure = envelope.data.get("procedure")
    if not isinstance(procedure, dict) or not procedure.get("code"):
        raise PermanentError("catalog event without a procedure code")
    withdrawn = envelope.type == PROCEDURE_WITHDRAWN
    if apply_procedure(session, procedure, withdrawn=withdrawn):
        log.info("procedure %s now at version %s", procedure["code"], procedure.get("version"))


def build_consumer(ctx: DossierContext, *, names: Names | None = None) -> Consumer:
    """The service's consumer with every handler registered."""
    consumer = Consumer(SERVICE, ctx.sessions, ctx.settings.bus, names=names)
    consumer.on_event(CATALOG_PROCEDURE_EVENTS)(on_procedure_event)
    return consumer
