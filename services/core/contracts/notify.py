"""The notify service's contract: the `notify.send` command any service sends it, with its
templates and channels, and the delivery events notify publishes.

The service that knows the citizen decides who is told what and sends `notify.send`
through its outbox, in the same transaction as the change. It travels on
`portal.commands` only, because it carries contact data and sometimes a secret (an OTP
code). The delivery events on `portal.events` carry a masked address only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from services.core.bus.envelope import Envelope
from services.core.bus.outbox import send_command
from services.core.contracts.message import Message, command, event

SERVICE = "notify"

NOTIFY_SEND = "notify.send"
EVENT_DELIVERED = "notify.notification.delivered"
EVENT_FAILED = "notify.notification.failed"
PUBLISHED_EVENTS = (EVENT_DELIVERED, EVENT_FAILED)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    INBOX = "inbox"


class Template(StrEnum):
    """Purposes notify has templates for; personalisation keys in PERSONALISATION."""

    OTP_REGISTRATION = "otp_registration"
    OTP_LOGIN = "otp_login"
    OTP_PHONE_CHANGE = "otp_phone_change"
    OTP_PASSWORD_RESET = "otp_password_reset"  # noqa: S105 - a template name
    ACCOUNT_CREATED = "account_created"
    OTP_PHONE_CHANGED = "otp_phone_changed"
    DOSSIER_SUBMITTED = "dossier_submitted"
    DOSSIER_RECEIVED = "dossier_received"
    DOSSIER_SUPPLEMENT_REQUESTED = "dossier_supplement_requested"
    DOSSIER_RESUBMITTED = "dossier_resubmitted"
    DOSSIER_RESULT_RETURNED = "dossier_result_returned"
    DOSSIER_REJECTED = "dossier_rejected"
    DOSSIER_OVERDUE_APOLOGY = "dossier_overdue_apology"


# The personalisation keys each template reads (optional ones in OPTIONAL_PERSONALISATION).
PERSONALISATION: dict[Template, tuple[str, ...]] = {
    Template.OTP_REGISTRATION: ("code", "minutes"),
    Template.OTP_LOGIN: ("code", "minutes"),
    Template.OTP_PHONE_CHANGE: ("code", "minutes"),
    Template.OTP_PASSWORD_RESET: ("code", "minutes"),
    Template.ACCOUNT_CREATED: ("full_name",),
    Template.OTP_PHONE_CHANGED: ("full_name", "new_phone_masked"),
    Template.DOSSIER_SUBMITTED: ("dossier_code", "procedure_name", "due_date"),
    Template.DOSSIER_RECEIVED: ("dossier_code", "procedure_name", "due_date"),
    Template.DOSSIER_SUPPLEMENT_REQUESTED: ("dossier_code", "reason"),
    Template.DOSSIER_RESUBMITTED: ("dossier_code", "procedure_name"),
    Template.DOSSIER_RESULT_RETURNED: ("dossier_code", "delivery_method"),
    Template.DOSSIER_REJECTED: ("dossier_code", "reason"),
    Template.DOSSIER_OVERDUE_APOLOGY: ("dossier_code", "new_due_date", "reason"),
}
OPTIONAL_PERSONALISATION: dict[Template, tuple[str, ...]] = {
    Template.DOSSIER_SUPPLEMENT_REQUESTED: ("file_anew",),
}

SEND_FIELDS = ("template", "channels", "recipient", "personalisation", "reference")
RECIPIENT_FIELDS = ("account_id", "phone", "email")
OUTCOME_FIELDS = (
    "notification_id",
    "command_id",
    "reference",
    "template",
    "channel",
    "status",
    "failure_reason",
    "account_id",
    "to",
    "attempts",
)

# A failed outcome also says why, as a stable code (identity tells the citizen).
FAILED_FIELDS = (*OUTCOME_FIELDS, "reason")

MESSAGES: tuple[Message, ...] = (
    event(EVENT_DELIVERED, SERVICE, "the notification id", OUTCOME_FIELDS),
    event(EVENT_FAILED, SERVICE, "the notification id", FAILED_FIELDS),
    command(
        NOTIFY_SEND,
        SERVICE,
        "the reference (what it is about)",
        SEND_FIELDS,
        {"recipient": RECIPIENT_FIELDS},
    ),
)


def send_notification(
    session: Session,
    template: Template | str,
    *,
    channels: Iterable[Channel | str],
    personalisation: Mapping[str, Any],
    account_id: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    reference: str | None = None,
) -> Envelope:
    """Add a `notify.send` command to the caller's transaction.

    `phone` is E.164; `reference` names what it is about (a dossier id, a registration
    id) and is the command's subject, so notifications about one thing keep their order.
    """
    data = {
        "template": str(template),
        "channels": [str(c) for c in channels],
        "recipient": {"account_id": account_id, "phone": phone, "email": email},
        "personalisation": dict(personalisation),
        "reference": reference,
    }
    return send_command(session, NOTIFY_SEND, data, subject=reference)
