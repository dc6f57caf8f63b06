"""Tables of the catalog service (SQLAlchemy 2.0 typed models).

The search index is not mapped here: SQLite keeps it in the FTS5 table `procedure_fts`,
PostgreSQL in generated tsvector columns of `procedure` (see migrations/0002 and search.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.core.db import UtcDateTime


class Base(DeclarativeBase):
    """Metadata of the catalog service's own tables (the bus tables are in BusBase)."""


class Agency(Base):
    """An executing agency: ministry, province, department, district or commune."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    province: Mapped[str] = mapped_column(String(2), default="", index=True)
    # The deployment (province code, "" national) whose catalogue supplied this row.
    origin: Mapped[str] = mapped_column(String(2), default="")


class Field(Base):
    """A field (lĩnh vực) procedures belong to."""

    __tablename__ = "field"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class LifeEvent(Base):
    """A life event (sự kiện) of a citizen or a business that groups procedures."""

    __tablename__ = "life_event"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    audience: Mapped[str] = mapped_column(String(16))


class Procedure(Base):
    """One procedure of one catalogue; `body` is its public JSON (GET /procedures/{code}).

    The national union holds the same national code once per publishing province, so a
    procedure is identified by (code, province).
    """

    __tablename__ = "procedure"
    __table_args__ = (
        UniqueConstraint("code", "province", name="uq_procedure_code_province"),
        Index("ix_procedure_listing", "withdrawn_at", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), index=True)
    province: Mapped[str] = mapped_column(String(2), default="")
    name: Mapped[str] = mapped_column(Text)
    name_folded: Mapped[str] = mapped_column(Text)
    description_folded: Mapped[str] = mapped_column(Text)
    field_code: Mapped[str] = mapped_column(String(32), index=True)
    service_level: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ProcedureAgency(Base):
    """Which agencies execute a procedure (for the agency and level filters)."""

    __tablename__ = "procedure_agency"

    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True
    )
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(16), index=True)


class ProcedureLifeEvent(Base):
    """Which life events a procedure belongs to (for the life_event filter)."""

    __tablename__ = "procedure_life_event"

    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedure.id", ondelete="CASCADE"), primary_key=True
    )
    life_event_code: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
