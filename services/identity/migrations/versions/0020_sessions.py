"""Sessions: one row per refresh-token family (created, last used, device, IP, revoked).

Revision ID: identity_0020
Revises: identity_0010
"""

import sqlalchemy as sa
from alembic import op

from services.core.db import UtcDateTime

revision = "identity_0020"
down_revision = "identity_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_families",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("revoked_at", UtcDateTime()),
    )
    op.create_index("ix_session_families_account", "session_families", ["account_id"])
    # Families that exist already become sessions (device and IP unknown).
    op.execute(
        "INSERT INTO session_families (id, account_id, created_at, last_used_at) "
        "SELECT family_id, MIN(account_id), MIN(created_at), MAX(created_at) "
        "FROM refresh_tokens GROUP BY family_id"
    )


def downgrade() -> None:
    op.drop_index("ix_session_families_account", table_name="session_families")
    op.drop_table("session_families")
