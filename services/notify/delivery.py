"""The delivery domain: notification states, accepting a command, and the transitions.

States follow GOV.UK Notify's and only move forward:

    created -> sending -> delivered | permanent-failure | technical-failure
                       -> temporary-failure -> sending (retry after a growing delay)

`temporary-failure` waits for its next attempt; after the last allowed attempt the
notification ends in `technical-failure`. `skipped` (no address for the channel) and a
notification refused by the per-recipient SMS cap are final from the moment they exist.

OTPs (templates carrying a one-time code) are a class of their own: their SMS count
against their own per-recipient budget, never with status SMS; they are sent before
anything else; and one not sent within `otp_max_age` ends `technical-failure / expired`
(created -> technical-failure), since a late code is useless. A status SMS over its cap
is replaced by e-mail and inbox messages where the command has those addresses.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.bus import Envelope, record_event
from services.core.contracts.notify import EVENT_DELIVERED, EVENT_FAILED, Channel, Template
from services.core.phones import InvalidPhone, mask_email, mask_phone, normalize_mobile
from services.notify.config import NotifySettings
from services.notify.models import Notification
from services.notify.rendering import SENSITIVE_TEMPLATES, Rendered, TemplateError, render
from services.notify.sms import prepare_sms

CREATED = "created"
SENDING = "sending"
DELIVERED = "delivered"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
TECHNICAL_FAILURE = "technical-failure"
SKIPPED = "skipped"

STATUSES = (
    CREATED,
    SENDING,
    DELIVERED,
    TEMPORARY_FAILURE,
    PERMANENT_FAILURE,
    TECHNICAL_FAILURE,
    SKIPPED,
)
FINAL = frozenset({DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, SKIPPED})
DUE = (CREATED, TEMPORARY_FAILURE)
ALLOWED: dict[str, frozenset[str]] = {
    CREATED: frozenset({SENDING, TECHNICAL_FAILURE}),
    SENDING: frozenset({DELIVERED, TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE}),
    TEMPORARY_FAILURE: frozenset({SENDING, TECHNICAL_FAILURE}),
}

# Why a notification did not go out (stable codes, shown to admins and on events).
REASON_NO_ADDRESS = "no_address"
REASON_INVALID_ADDRESS = "invalid_address"
REASON_SMS_CAP = "sms_hourly_cap"
REASON_OTP_CAP = "otp_hourly_cap"
REASON_REJECTED = "provider_rejected"
REASON_RETRIES_EXHAUSTED = "retries_exhausted"
REASON_EXPIRED = "expired"
CAP_REASONS = (REASON_SMS_CAP, REASON_OTP_CAP)

# The `reason` of a `notify.notification.failed` event: a stable code for the sender
# (identity tells the citizen its OTP did not go out). Stored reasons map onto it.
EVENT_REASONS = {
    REASON_REJECTED: "provider_refused",
    REASON_RETRIES_EXHAUSTED: "provider_unavailable",
}

# OTPs: the templates that carry a one-time code (every `otp_*` template but the
# `otp_phone_changed` alert, which carries none).
OTP_TEMPLATES = frozenset(str(t) for t in SENSITIVE_TEMPLATES if str(t).startswith("otp_"))


def is_otp(template: str) -> bool:
    """True for an OTP notification: own budget, first in line, useless when late."""
    return template in OTP_TEMPLATES


class CommandError(ValueError):
    """A `notify.send` command that can never be carried out as sent."""


class IllegalTransition(RuntimeError):
    """A state change against the forward-only order."""


def move(notification: Notification, new_status: str, now: datetime) -> None:
    """Change the status only along an allowed edge."""
    if new_status not in ALLOWED.get(notification.status, frozenset()):
        raise IllegalTransition(f"{notification.status} -> {new_status}")
    notification.status = new_status
    notification.updated_at = now
    if new_status in FINAL:
        notification.completed_at = now
        notification.next_attempt_at = None
        notification.lease_until = None
        if notification.sensitive:
            # The secret was needed only to send; keep no copy of it.
            notification.body = ""
            notification.html = None


def masked_recipient(notification: Notification) -> str | None:
    if notification.to is None:
        return None
    if notification.channel == Channel.SMS:
        return mask_phone(notification.to)
    if notification.channel == Channel.EMAIL:
        return mask_email(notification.to)
    return None


def event_reason(notification: Notification) -> str:
    """The stable `reason` code a failed event carries."""
    reason = notification.failure_reason or "unknown"
    return EVENT_REASONS.get(reason, reason)


def record_outcome_event(session: Session, notification: Notification) -> None:
    """`delivered` or `failed` on portal.events: ids, statuses and a masked address only."""
    event = EVENT_DELIVERED if notification.status == DELIVERED else EVENT_FAILED
    record_event(
        session,
        event,
        {
            "notification_id": notification.id,
            "command_id": notification.command_id,
            "reference": notification.reference,
            "template": notification.template,
            "channel": notification.channel,
            "status": notification.status,
            "failure_reason": notification.failure_reason,
            **({"reason": event_reason(notification)} if event == EVENT_FAILED else {}),
            "account_id": notification.account_id,
            "to": masked_recipient(notification),
            "attempts": notification.attempts,
        },
        subject=notification.id,
    )


@dataclass(frozen=True)
class SendRequest:
    """A validated `notify.send` command."""

    template: Template
    channels: tuple[Channel, ...]
    account_id: str | None
    phone: str | None
    email: str | None
    personalisation: Mapping[str, Any]
    reference: str | None


def parse_command(data: Mapping[str, Any]) -> SendRequest:
    """Check the command's shape; CommandError says what is wrong (never the values)."""
    try:
        template = Template(str(data.get("template")))
    except ValueError as exc:
        raise CommandError("unknown template") from exc
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, list) or not raw_channels:
        raise CommandError("channels must be a non-empty list")
    try:
        channels = tuple(dict.fromkeys(Channel(str(c)) for c in raw_channels))
    except ValueError as exc:
        raise CommandError("unknown channel") from exc
    recipient = data.get("recipient") or {}
    personalisation = data.get("personalisation") or {}
    if not isinstance(recipient, Mapping) or not isinstance(personalisation, Mapping):
        raise CommandError("recipient and personalisation must be objects")
    reference = data.get("reference")

    def text(key: str) -> str | None:
        value = recipient.get(key)
        return str(value).strip() or None if value is not None else None

    return SendRequest(
        template=template,
        channels=channels,
        account_id=text("account_id"),
        phone=text("phone"),
        email=text("email"),
        personalisation=personalisation,
        reference=str(reference)[:128] if reference is not None else None,
    )


def _address(request: SendRequest, channel: Channel) -> tuple[str | None, str | None]:
    """(address, reason it cannot be used)."""
    if channel == Channel.SMS:
        if request.phone is None:
            return None, REASON_NO_ADDRESS
        try:
            return normalize_mobile(request.phone), None
        except InvalidPhone:
            return None, REASON_INVALID_ADDRESS
    if channel == Channel.EMAIL:
        if request.email is None:
            return None, REASON_NO_ADDRESS
        local, at, domain = request.email.partition("@")
        if not (local and at and "." in domain) or len(request.email) > 320:
            return None, REASON_INVALID_ADDRESS
        return request.email.lower(), None
    if request.account_id is None:
        return None, REASON_NO_ADDRESS
    return request.account_id, None


def _counts_against_cap(notification: Notification, phone: str, since: datetime, otp: bool) -> bool:
    return (
        notification.channel == Channel.SMS
        and notification.to == phone
        and notification.created_at > since
        and notification.status != SKIPPED
        and (notification.failure_reason or "") not in CAP_REASONS
        and is_otp(notification.template) == otp
    )


def sms_sent_last_hour(session: Session, phone: str, now: datetime, *, otp: bool = False) -> int:
    """SMS notifications of one class (OTP or status) to this number in the last hour that
    count against that class's cap; the other class is never counted.

    The stored ones are counted by the database, those added in this transaction and not
    yet flushed (earlier commands of the same batch) here: no flush for each command.
    """
    since = now - timedelta(hours=1)
    pending = sum(
        1
        for item in session.new
        if isinstance(item, Notification) and _counts_against_cap(item, phone, since, otp)
    )
    otp_template = Notification.template.in_(sorted(OTP_TEMPLATES))
    query = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.channel == Channel.SMS,
            Notification.to == phone,
            Notification.created_at > since,
            Notification.status != SKIPPED,
            func.coalesce(Notification.failure_reason, "").not_in(CAP_REASONS),
            otp_template if otp else ~otp_template,
        )
    )
    with session.no_autoflush:
        return pending + int(session.scalar(query) or 0)


def _sms_cap_reason(
    session: Session, template: str, phone: str, settings: NotifySettings, now: datetime
) -> str | None:
    """The cap an SMS to this phone would exceed, if any."""
    if is_otp(template):
        if sms_sent_last_hour(session, phone, now, otp=True) >= (
            settings.otp_sms_per_recipient_per_hour
        ):
            return REASON_OTP_CAP
        return None
    if sms_sent_last_hour(session, phone, now) >= settings.sms_per_recipient_per_hour:
        return REASON_SMS_CAP
    return None


def _new_notification(
    envelope: Envelope,
    request: SendRequest,
    channel: Channel,
    address: str | None,
    content: Rendered,
    now: datetime,
) -> Notification:
    return Notification(
        id=str(uuid.uuid4()),
        command_id=envelope.id,
        channel=channel,
        template=request.template,
        reference=request.reference,
        account_id=request.account_id,
        to=address,
        subject=content.subject,
        body=content.body,
        html=content.html,
        sensitive=request.template in SENSITIVE_TEMPLATES,
        status=CREATED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


def _render(request: SendRequest, channel: Channel) -> Rendered:
    try:
        return render(request.template, channel, request.personalisation)
    except TemplateError as exc:
        raise CommandError(str(exc)) from exc


FALLBACK_CHANNELS = (Channel.EMAIL, Channel.INBOX)


def accept(
    session: Session, envelope: Envelope, settings: NotifySettings, now: datetime
) -> list[Notification]:
    """Add one notification per channel of the command; return those to send now.

    A status SMS over its cap is replaced by the e-mail and inbox messages the command
    did not ask for, where it has their address: the citizen is told another way.
    Nothing is flushed: a batch of commands is written in one flush at its commit.
    """
    request = parse_command(envelope.data)
    rendered = {channel: _render(request, channel) for channel in request.channels}
    to_send: list[Notification] = []
    fallback = False
    for channel in request.channels:
        address, reason = _address(request, channel)
        content = rendered[channel]
        notification = _new_notification(envelope, request, channel, address, content, now)
        if channel == Channel.SMS and address is not None:
            sms = prepare_sms(content.body, strip=settings.sms_strip_diacritics)
            notification.body = sms.text
            notification.encoding = sms.encoding
            notification.segments = sms.segments
            reason = _sms_cap_reason(session, request.template, address, settings, now)
            fallback = reason == REASON_SMS_CAP
        if reason is not None:
            notification.status = SKIPPED if reason == REASON_NO_ADDRESS else PERMANENT_FAILURE
            notification.failure_reason = reason
            notification.next_attempt_at = None
            notification.completed_at = now
            if notification.sensitive:
                notification.body = ""
                notification.html = None
        session.add(notification)
        if notification.status == PERMANENT_FAILURE:
            record_outcome_event(session, notification)
        elif notification.status == CREATED:
            to_send.append(notification)
    if fallback:
        for channel in FALLBACK_CHANNELS:
            address, reason = _address(request, channel)
            if channel in request.channels or reason is not None:
                continue
            try:
                content = render(request.template, channel, request.personalisation)
            except TemplateError:
                continue  # the SMS failed on its cap already; nothing more to tell
            notification = _new_notification(envelope, request, channel, address, content, now)
            session.add(notification)
            to_send.append(notification)
    return to_send
