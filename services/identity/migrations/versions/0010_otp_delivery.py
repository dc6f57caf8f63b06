"""OTP delivery state and per-purpose send budgets.

Each OTP challenge remembers the `notify.send` command that carried its code and what
notify reported about it (pending, delivered, failed + reason). Each counted send
remembers its purpose and flow, so budgets are per purpose and cooldowns per flow and
destination. Phone additions are counted per account per day through their flows.

Revision ID: identity_0010
Revises: identity_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "identity_0010"
down_revision = "identity_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("otp_challenges", sa.Column("command_id", sa.String(36)))
    op.add_column("otp_challenges", sa.Column("delivery", sa.String(16)))
    op.add_column("otp_challenges", sa.Column("delivery_reason", sa.String(48)))
    op.create_index("ix_otp_challenges_command_id", "otp_challenges", ["command_id"])
    op.add_column("otp_sends", sa.Column("purpose", sa.String(24)))
    op.add_column("otp_sends", sa.Column("flow_id", sa.String(36)))
    op.create_index("ix_otp_sends_flow", "otp_sends", ["flow_id", "phone"])
    op.create_index("ix_flows_account_kind", "flows", ["account_id", "kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_flows_account_kind", "flows")
    op.drop_index("ix_otp_sends_flow", "otp_sends")
    with op.batch_alter_table("otp_sends") as batch:
        batch.drop_column("flow_id")
        batch.drop_column("purpose")
    op.drop_index("ix_otp_challenges_command_id", "otp_challenges")
    with op.batch_alter_table("otp_challenges") as batch:
        batch.drop_column("delivery_reason")
        batch.drop_column("delivery")
        batch.drop_column("command_id")
