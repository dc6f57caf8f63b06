"""Alembic operations creating the bus tables; each service's first migration calls them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from services.core.bus.models import BigId
from services.core.db import UtcDateTime


def create_bus_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("routing_key", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(128)),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime()),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    pending = sa.text("published_at IS NULL")
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at", "seq"],
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_index(
        "ix_outbox_pending_subject",
        "outbox",
        ["subject", "seq"],
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("consumer", sa.String(64), primary_key=True),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("handled_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])
    op.create_table(
        "outbox_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )


def drop_bus_tables() -> None:
    op.drop_table("outbox_lease")
    op.drop_table("inbox")
    op.drop_table("outbox")
