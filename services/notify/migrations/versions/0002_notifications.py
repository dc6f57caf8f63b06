"""Notifications, delivery attempts, the in-portal inbox and the dev outbox.

Revision ID: notify_0002
Revises: notify_0001
"""

import sqlalchemy as sa
from alembic import op

from services.core.db import UtcDateTime

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("command_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(128)),
        sa.Column("account_id", sa.String(64)),
        sa.Column("to", sa.String(320)),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("segments", sa.Integer),
        sa.Column("encoding", sa.String(8)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("failure_reason", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime()),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime()),
        sa.UniqueConstraint("command_id", "channel", name="uq_notification_command_channel"),
    )
    op.create_index("ix_notification_due", "notification", ["status", "next_attempt_at"])
    op.create_index("ix_notification_to_created", "notification", ["to", "created_at"])
    op.create_index("ix_notification_created", "notification", ["created_at"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "notification_id",
            sa.String(36),
            sa.ForeignKey("notification.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("outcome", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("provider_reference", sa.String(128)),
        sa.UniqueConstraint("notification_id", "number", name="uq_attempt_number"),
    )
    op.create_table(
        "inbox_item",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("notification_id", sa.String(36), nullable=False, unique=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(128)),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime()),
    )
    op.create_index("ix_inbox_item_account_created", "inbox_item", ["account_id", "created_at"])
    op.create_table(
        "dev_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(36), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("to", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_dev_outbox_to_created", "dev_outbox", ["to", "created_at"])


def downgrade() -> None:
    op.drop_table("dev_outbox")
    op.drop_table("inbox_item")
    op.drop_table("delivery_attempt")
    op.drop_table("notification")
