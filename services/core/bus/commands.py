"""The `notify.send` command: how any service asks notify to tell someone something.

The service that knows the citizen decides who is told what and sends this through
its outbox, in the same transaction as the change. It travels on `portal.commands`
only, because it carries contact data and sometimes a secret (an OTP code).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from services.core.bus.envelope import Envelope
from services.core.bus.outbox import send_command

NOTIFY_SEND = "notify.send"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    INBOX = "inbox"


class Template(StrEnum):
    """Purposes notify has templates for; personalisation keys in the comments."""

    OTP_REGISTRATION = "otp_registration"  # code, minutes
    OTP_LOGIN = "otp_login"  # code, minutes
    OTP_PHONE_CHANGE = "otp_phone_change"  # code, minutes
    OTP_PASSWORD_RESET = "otp_password_reset"  # noqa: S105 - a template name; code, minutes
    ACCOUNT_CREATED = "account_created"  # full_name
    OTP_PHONE_CHANGED = "otp_phone_changed"  # full_name, new_phone_masked
    DOSSIER_SUBMITTED = "dossier_submitted"  # dossier_code, procedure_name, due_date
    DOSSIER_RECEIVED = "dossier_received"  # dossier_code, procedure_name, due_date
    # dossier_code, reason and, optional, file_anew
    DOSSIER_SUPPLEMENT_REQUESTED = "dossier_supplement_requested"
    DOSSIER_RESUBMITTED = "dossier_resubmitted"  # dossier_code, procedure_name
    DOSSIER_RESULT_RETURNED = "dossier_result_returned"  # dossier_code, delivery_method
    DOSSIER_REJECTED = "dossier_rejected"  # dossier_code, reason
    DOSSIER_OVERDUE_APOLOGY = "dossier_overdue_apology"  # dossier_code, new_due_date, reason


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
