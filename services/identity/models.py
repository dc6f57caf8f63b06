"""Tables of the identity service (SQLAlchemy 2.0 typed models)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Metadata of the identity service's own tables (the bus tables are in BusBase)."""
