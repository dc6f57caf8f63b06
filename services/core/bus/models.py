"""The outbox and inbox tables every service database holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.core.db import UtcDateTime

BigId = BigInteger().with_variant(Integer(), "sqlite")


class BusBase(DeclarativeBase):
    """Metadata of the bus tables; each service's migrations create them in its database."""


class OutboxMessage(BusBase):
    """An event or command written with the business change, published later by the relay."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "event" or "command"
    type: Mapped[str] = mapped_column(String(128))
    routing_key: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(128))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            "seq",
            postgresql_where=published_at.is_(None),
            sqlite_where=published_at.is_(None),
        ),
        Index(
            "ix_outbox_pending_subject",
            "subject",
            "seq",
            postgresql_where=published_at.is_(None),
            sqlite_where=published_at.is_(None),
        ),
        Index("ix_outbox_published_at", "published_at"),
    )


class InboxMessage(BusBase):
    """A message a consumer has handled; written in the handler's transaction."""

    __tablename__ = "inbox"

    message_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class RelayLease(BusBase):
    """Who may relay the outbox of a SQLite database (one relay at a time there)."""

    __tablename__ = "outbox_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
