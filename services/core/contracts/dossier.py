"""The dossier service's contract: the lifecycle events it publishes on `portal.events`.

Every event carries the same view of the dossier (nothing personal); a few add one field.
"""

from __future__ import annotations

from enum import StrEnum

from services.core.contracts.message import Message, event

SERVICE = "dossier"


class Event(StrEnum):
    SUBMITTED = "dossier.submitted"
    RECEIVED = "dossier.received"
    SUPPLEMENT_REQUESTED = "dossier.supplement_requested"
    RESUBMITTED = "dossier.resubmitted"
    RESULT_RETURNED = "dossier.result_returned"
    REJECTED = "dossier.rejected"
    RATED = "dossier.rated"
    OVERDUE = "dossier.overdue"


# What anyone on portal.events may know of a dossier.
DOSSIER_FIELDS = (
    "dossier_id",
    "code",
    "procedure_code",
    "procedure_version",
    "agency_code",
    "province",
    "status",
    "anonymous",
    "submitted_at",
    "due_at",
    "promised_at",
    "finished_at",
)
# The field an event adds to DOSSIER_FIELDS, if any.
EXTRA_FIELDS: dict[Event, tuple[str, ...]] = {
    Event.RESULT_RETURNED: ("on_time",),
    Event.RATED: ("score",),
    Event.OVERDUE: ("missed_at",),
}

MESSAGES: tuple[Message, ...] = tuple(
    event(str(e), SERVICE, "the dossier id", DOSSIER_FIELDS + EXTRA_FIELDS.get(e, ()))
    for e in Event
)
