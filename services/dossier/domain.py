"""Names of the dossier domain: statuses, events, roles (its problem codes are in problems.py)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESULT_RETURNED = "result_returned"
    REJECTED = "rejected"


# Statuses during which the processing clock runs (and a dossier can become overdue).
CLOCK_RUNNING = (Status.SUBMITTED, Status.PROCESSING)
FINISHED = (Status.RESULT_RETURNED, Status.REJECTED)


class Role(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"
    ADMIN = "admin"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"


class AttachmentKind(StrEnum):
    DOCUMENT = "document"
    RESULT = "result"


class DeliveryMethod(StrEnum):
    ONLINE = "online"
    COUNTER = "counter"
    POST = "post"


@dataclass(frozen=True)
class Actor:
    """Who acts: an account with a role (and an agency for officers), or nobody."""

    id: str | None
    role: Role
    agency: str | None = None


SYSTEM = Actor(None, Role.SYSTEM)
