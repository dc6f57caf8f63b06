"""Tables of the dossier service (SQLAlchemy 2.0 typed models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.core.db import UtcDateTime


class Base(DeclarativeBase):
    """Metadata of the dossier service's own tables (the bus tables are in BusBase)."""


class CatalogProcedure(Base):
    """Read copy of a catalogue procedure, kept from catalog.procedure.* events."""

    __tablename__ = "catalog_procedure"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    province: Mapped[str] = mapped_column(String(8), primary_key=True, default="")
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    withdrawn: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class Dossier(Base):
    """One filing of a procedure, from draft to result, with a snapshot of the procedure."""

    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_agency_status_due", "agency_code", "status", "due_at"),
        Index("ix_dossier_account_status", "account_id", "status"),
        Index("ix_dossier_status_promised", "status", "promised_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    account_id: Mapped[str | None] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False, default="online")
    procedure_code: Mapped[str] = mapped_column(String(64), nullable=False)
    procedure_name: Mapped[str] = mapped_column(Text, nullable=False)
    procedure_version: Mapped[int] = mapped_column(Integer, nullable=False)
    procedure: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    agency_code: Mapped[str] = mapped_column(String(32), nullable=False)
    agency_name: Mapped[str] = mapped_column(Text, nullable=False)
    province: Mapped[str] = mapped_column(String(8), nullable=False, default="")
    applicant: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner_same_as_applicant: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delivery: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attachments_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    attachments_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The date promised to the citizen: the due date, or the new date of an apology slip.
    promised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Working days left on the clock while it is stopped for a supplement.
    remaining_days: Mapped[int | None] = mapped_column(Integer)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paused_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    working_days_taken: Mapped[int | None] = mapped_column(Integer)
    apologies: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    rating_score: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Attachment(Base):
    """A file of a dossier: a required document, or a result file from the officer."""

    __tablename__ = "dossier_attachment"
    __table_args__ = (Index("ix_attachment_dossier", "dossier_id", "document_code"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("dossier.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    document_code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(128), nullable=False)
    uploaded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class HistoryEntry(Base):
    """One step of a dossier's processing timeline."""

    __tablename__ = "dossier_history"
    __table_args__ = (Index("ix_history_dossier", "dossier_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    dossier_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("dossier.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)


class CodeSequence(Base):
    """The last dossier number given by an agency on a day (Circular 01/2018 codes)."""

    __tablename__ = "dossier_code_sequence"

    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False)
