"""The catalogue's contract: the procedure events it publishes on `portal.events`.

Provinces' brokers shovel these to the national broker (deploy/federation), and the
dossier service keeps its copy of the catalogue from them.
"""

from __future__ import annotations

from services.core.contracts.message import Message, event

SERVICE = "catalog"

PROCEDURE_PUBLISHED = "catalog.procedure.published"
PROCEDURE_UPDATED = "catalog.procedure.updated"
PROCEDURE_WITHDRAWN = "catalog.procedure.withdrawn"
PROCEDURE_EVENTS = (PROCEDURE_PUBLISHED, PROCEDURE_UPDATED, PROCEDURE_WITHDRAWN)
PROCEDURE_EVENT_PATTERN = "catalog.procedure.*"

# `data.procedure`: the whole procedure, exactly as GET /api/catalog/procedures/{code} returns it.
PROCEDURE_FIELDS = (
    "code",
    "name",
    "description",
    "field",
    "province",
    "version",
    "service_level",
    "audience",
    "processing_days",
    "fees",
    "legal_basis",
    "life_events",
    "documents",
    "steps",
    "form",
    "result_delivery",
    "agencies",
)
# `data.procedure` of a withdrawal: only what names the procedure and its last version.
WITHDRAWN_PROCEDURE_FIELDS = ("code", "province", "version")

MESSAGES: tuple[Message, ...] = (
    event(
        PROCEDURE_PUBLISHED,
        SERVICE,
        "the procedure code",
        ("procedure",),
        {"procedure": PROCEDURE_FIELDS},
    ),
    event(
        PROCEDURE_UPDATED,
        SERVICE,
        "the procedure code",
        ("procedure",),
        {"procedure": PROCEDURE_FIELDS},
    ),
    event(
        PROCEDURE_WITHDRAWN,
        SERVICE,
        "the procedure code",
        ("procedure",),
        {"procedure": WITHDRAWN_PROCEDURE_FIELDS},
    ),
)
