"""Read side of notify: the inbox, the dev outbox and the admin view (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, selectinload

from services.core.phones import InvalidPhone, normalize_mobile
from services.notify.models import DevOutboxMessage, InboxItem, Notification

T = TypeVar("T")


class InvalidRecipient(ValueError):
    """Neither an e-mail address nor a Vietnamese mobile number."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


def normalize_recipient(raw: str) -> str:
    """An e-mail (lower-cased) or a phone in any accepted form (to E.164)."""
    text = raw.strip()
    if "@" in text:
        return text.lower()
    try:
        return normalize_mobile(text)
    except InvalidPhone as exc:
        raise InvalidRecipient(raw) from exc


def _page(session: Session, query: Select[Any], page: int, per_page: int) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, int(total or 0), page, per_page)


def inbox_page(
    session: Session, account_id: str, page: int, per_page: int, unread_only: bool = False
) -> Page[InboxItem]:
    """The citizen's own messages, newest first."""
    query = select(InboxItem).where(InboxItem.account_id == account_id)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    query = query.order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
    return _page(session, query, page, per_page)


def unread_count(session: Session, account_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxItem)
            .where(InboxItem.account_id == account_id, InboxItem.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, account_id: str, item_id: str, now: datetime) -> InboxItem | None:
    """Mark one of the citizen's own messages read (idempotent); None if not theirs."""
    session.execute(
        update(InboxItem)
        .where(
            InboxItem.id == item_id,
            InboxItem.account_id == account_id,
            InboxItem.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return session.scalar(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.account_id == account_id)
    )


def dev_outbox(session: Session, to: str, limit: int) -> list[DevOutboxMessage]:
    """What would have been sent to one address, newest first (never to everyone: the
    messages hold OTP codes)."""
    query = (
        select(DevOutboxMessage)
        .where(DevOutboxMessage.to == to)
        .order_by(DevOutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def notifications_page(
    session: Session,
    *,
    status: str | None,
    to: str | None,
    channel: str | None,
    reference: str | None,
    account_id: str | None = None,
    page: int,
    per_page: int,
) -> Page[Notification]:
    """Admin view, newest first, with attempts loaded."""
    query = select(Notification).options(selectinload(Notification.delivery_attempts))
    if status is not None:
        query = query.where(Notification.status == status)
    if to is not None:
        query = query.where(Notification.to == to)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    if reference is not None:
        query = query.where(Notification.reference == reference)
    if account_id is not None:
        query = query.where(Notification.account_id == account_id)
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    return _page(session, query, page, per_page)
