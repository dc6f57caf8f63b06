"""Tables the bus tests write business data and handler effects into."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class SampleBase(DeclarativeBase):
    pass


class Thing(SampleBase):
    """A stand-in business row committed with its events."""

    __tablename__ = "thing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))


class Effect(SampleBase):
    """One row per time a handler's effect committed: duplicates would show here."""

    __tablename__ = "effect"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36))
    consumer: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(128), default="")
