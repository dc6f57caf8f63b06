"""Identity's tables: accounts, OTP phones, registrations, flows, OTPs, tokens, keys.

Revision ID: identity_0002
Revises: identity_0001
"""

import sqlalchemy as sa
from alembic import op

from services.core.bus import BigId
from services.core.db import UtcDateTime

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("citizen_id", sa.String(12)),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("gender", sa.String(8)),
        sa.Column("email", sa.String(254)),
        sa.Column("address", sa.String(500)),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("agency", sa.String(64)),
        sa.Column("verification_level", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("password_changed_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "otp_phones",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("removed_at", UtcDateTime()),
    )
    op.create_index("ix_otp_phones_account", "otp_phones", ["account_id"])
    op.create_table(
        "registrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("citizen_id", sa.String(12), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("gender", sa.String(8), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("address", sa.String(500)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_registrations_expires_at", "registrations", ["expires_at"])
    op.create_table(
        "flows",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(36)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("phone", sa.String(16)),
        sa.Column("new_phone", sa.String(16)),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_flows_expires_at", "flows", ["expires_at"])
    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("flow_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("phone", sa.String(16)),
        sa.Column("code_hmac", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sends", sa.Integer, nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("verified_at", UtcDateTime()),
        sa.UniqueConstraint("flow_id", "purpose", name="uq_otp_challenges_flow"),
    )
    op.create_table(
        "otp_sends",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_otp_sends_phone_sent_at", "otp_sends", ["phone", "sent_at"])
    op.create_table(
        "login_throttles",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until", UtcDateTime()),
        sa.Column("last_failure_at", UtcDateTime()),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("family_id", sa.String(36), nullable=False),
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family_id"])
    op.create_table(
        "access_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.String(36),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
        sa.Column("method", sa.String(24), nullable=False),
        sa.Column("result", sa.String(24), nullable=False),
    )
    op.create_index("ix_access_log_account_at", "access_log", ["account_id", "at"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("private_key_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("active_from", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "signing_keys",
        "access_log",
        "refresh_tokens",
        "login_throttles",
        "otp_sends",
        "otp_challenges",
        "flows",
        "registrations",
        "otp_phones",
        "accounts",
    ):
        op.drop_table(table)
