"""Providers behind one interface: HTTP SMS gateway, SMTP, the in-portal inbox, dev outbox.

A provider is called outside any database transaction of the delivery loop and answers
with an Outcome; it raises nothing for an expected failure. Classification:
delivered, temporary (worth retrying: 5xx, timeouts, connection errors, 429) or
permanent (the request itself is wrong: other 4xx, a refused recipient).
"""

from __future__ import annotations

import smtplib
import threading
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from enum import StrEnum
from typing import Protocol

import requests
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import utcnow
from services.core.contracts.notify import Channel
from services.core.db import transaction
from services.notify.config import DEV_OUTBOX, NotifySettings
from services.notify.models import DevOutboxMessage, InboxItem


class Result(StrEnum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Outcome:
    result: Result
    error: str | None = None
    provider_reference: str | None = None


@dataclass(frozen=True)
class Message:
    """What a provider needs to send one notification."""

    notification_id: str
    channel: str
    to: str
    subject: str
    body: str
    html: str | None
    template: str
    reference: str | None


class Provider(Protocol):
    name: str

    def send(self, message: Message) -> Outcome: ...


class LocalProvider(Provider, Protocol):
    """A provider that only writes to notify's own database: done inside one transaction."""

    def store(self, session: Session, message: Message) -> Outcome: ...


class DevOutboxProvider:
    """Stores what would have been sent, readable at /api/notify/dev/outbox."""

    name = DEV_OUTBOX
    local = True

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def store(self, session: Session, message: Message) -> Outcome:
        session.add(
            DevOutboxMessage(
                notification_id=message.notification_id,
                channel=message.channel,
                to=message.to,
                subject=message.subject,
                body=message.body,
                created_at=utcnow(),
            )
        )
        return Outcome(Result.DELIVERED)

    def send(self, message: Message) -> Outcome:
        try:
            with transaction(self.sessions) as session:
                return self.store(session, message)
        except IntegrityError:
            return Outcome(Result.DELIVERED)  # stored by an earlier attempt


class InboxProvider:
    """Puts the message into the citizen's in-portal inbox."""

    name = "inbox"
    local = True

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def store(self, session: Session, message: Message) -> Outcome:
        item_id = str(uuid.uuid4())
        session.add(
            InboxItem(
                id=item_id,
                notification_id=message.notification_id,
                account_id=message.to,
                template=message.template,
                reference=message.reference,
                subject=message.subject,
                body=message.body,
                created_at=utcnow(),
            )
        )
        return Outcome(Result.DELIVERED, provider_reference=item_id)

    def send(self, message: Message) -> Outcome:
        try:
            with transaction(self.sessions) as session:
                return self.store(session, message)
        except IntegrityError:
            return Outcome(Result.DELIVERED)  # stored by an earlier attempt


class HttpSmsProvider:
    """Client of the SMS gateway: POST JSON {to, text, sender, reference} with an API key."""

    name = "http-sms"

    def __init__(self, url: str, api_key: str, timeout: float, sender: str) -> None:
        self.url = url
        self.timeout = timeout
        self.sender = sender
        self.http = requests.Session()
        if api_key:
            self.http.headers["Authorization"] = f"Bearer {api_key}"

    def send(self, message: Message) -> Outcome:
        payload = {
            "to": message.to,
            "text": message.body,
            "sender": self.sender,
            "reference": message.notification_id,
        }
        try:
            response = self.http.post(self.url, json=payload, timeout=self.timeout)
        except requests.Timeout:
            return Outcome(Result.TEMPORARY, f"timeout after {self.timeout}s")
        except requests.RequestException as exc:
            return Outcome(Result.TEMPORARY, f"connection error: {type(exc).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            reference = None
            try:
                body = response.json()
                if isinstance(body, dict) and body.get("id") is not None:
                    reference = str(body["id"])[:128]
            except ValueError:
                pass
            return Outcome(Result.DELIVERED, provider_reference=reference)
        error = f"gateway answered {status}"
        if status == 429 or status >= 500:
            return Outcome(Result.TEMPORARY, error)
        return Outcome(Result.PERMANENT, error)


class SmtpEmailProvider:
    """E-mail through SMTP: multipart/alternative plain text and HTML, UTF-8 throughout."""

    name = "smtp"

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        # One connection per delivery thread, kept open between messages.
        self._local = threading.local()

    def build(self, message: Message) -> EmailMessage:
        display, address = parseaddr(self.settings.email_from)
        email = EmailMessage()
        email["From"] = Address(display_name=display, addr_spec=address)
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = make_msgid(idstring=message.notification_id, domain="notify")
        email["X-Notification-Id"] = message.notification_id
        email.set_content(message.body, charset="utf-8")
        if message.html:
            email.add_alternative(message.html, subtype="html", charset="utf-8")
        return email

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self) -> None:
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _send_on_connection(self, email: EmailMessage) -> None:
        """Reuse this thread's connection; a connection the server closed is reopened once."""
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        if smtp is not None:
            try:
                smtp.send_message(email)
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                self._drop()
        smtp = self._connect()
        self._local.smtp = smtp
        smtp.send_message(email)

    def send(self, message: Message) -> Outcome:
        email = self.build(message)
        try:
            self._send_on_connection(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            kind = Result.TEMPORARY if all(400 <= c < 500 for c in codes) else Result.PERMANENT
            return Outcome(kind, f"recipient refused: {codes}")
        except smtplib.SMTPResponseException as exc:
            kind = Result.TEMPORARY if 400 <= exc.smtp_code < 500 else Result.PERMANENT
            return Outcome(kind, f"SMTP {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return Outcome(Result.TEMPORARY, f"SMTP unavailable: {type(exc).__name__}")
        return Outcome(Result.DELIVERED, provider_reference=email["Message-ID"])

    def close(self) -> None:
        """Close this thread's connection (the worker's threads end with the process)."""
        self._drop()


def build_providers(
    settings: NotifySettings, sessions: sessionmaker[Session]
) -> dict[str, Provider]:
    """The provider serving each channel, as configured."""
    dev = DevOutboxProvider(sessions)
    sms: Provider = (
        HttpSmsProvider(
            settings.sms_gateway_url,
            settings.sms_gateway_api_key,
            settings.sms_gateway_timeout,
            settings.sms_sender,
        )
        if settings.sms_provider == "http"
        else dev
    )
    email: Provider = SmtpEmailProvider(settings) if settings.email_provider == "smtp" else dev
    return {Channel.SMS: sms, Channel.EMAIL: email, Channel.INBOX: InboxProvider(sessions)}
