"""Dossiers, attachments, history, code sequences and the catalogue read copy.

Revision ID: dossier_0002
Revises: dossier_0001
"""

import sqlalchemy as sa
from alembic import op

from services.core.db import UtcDateTime

revision = "dossier_0002"
down_revision = "dossier_0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "catalog_procedure",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("province", sa.String(8), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "dossier",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(64), unique=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64)),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("procedure_code", sa.String(64), nullable=False),
        sa.Column("procedure_name", sa.Text, nullable=False),
        sa.Column("procedure_version", sa.Integer, nullable=False),
        sa.Column("procedure", sa.JSON, nullable=False),
        sa.Column("agency_code", sa.String(32), nullable=False),
        sa.Column("agency_name", sa.Text, nullable=False),
        sa.Column("province", sa.String(8), nullable=False),
        sa.Column("applicant", sa.JSON),
        sa.Column("owner", sa.JSON),
        sa.Column("owner_same_as_applicant", sa.Boolean, nullable=False),
        sa.Column("form", sa.JSON),
        sa.Column("delivery", sa.JSON),
        sa.Column("attachments_bytes", sa.BigInteger, nullable=False),
        sa.Column("attachments_count", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("submitted_at", UtcDateTime()),
        sa.Column("received_at", UtcDateTime()),
        sa.Column("due_at", UtcDateTime()),
        sa.Column("promised_at", UtcDateTime()),
        sa.Column("remaining_days", sa.Integer),
        sa.Column("paused_at", UtcDateTime()),
        sa.Column("paused_days", sa.Integer, nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("working_days_taken", sa.Integer),
        sa.Column("apologies", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("result_note", sa.Text),
        sa.Column("rating_score", sa.Integer),
        sa.Column("rating_comment", sa.Text),
        sa.Column("rated_at", UtcDateTime()),
    )
    op.create_index("ix_dossier_agency_status_due", "dossier", ["agency_code", "status", "due_at"])
    op.create_index("ix_dossier_account_status", "dossier", ["account_id", "status"])
    op.create_index("ix_dossier_status_promised", "dossier", ["status", "promised_at"])
    op.create_table(
        "dossier_attachment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "dossier_id",
            sa.String(36),
            sa.ForeignKey("dossier.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("uploaded_by", sa.String(64)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_attachment_dossier", "dossier_attachment", ["dossier_id", "document_code"])
    op.create_table(
        "dossier_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "dossier_id",
            sa.String(36),
            sa.ForeignKey("dossier.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(64)),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_history_dossier", "dossier_history", ["dossier_id", "id"])
    op.create_table(
        "dossier_code_sequence",
        sa.Column("agency_code", sa.String(32), primary_key=True),
        sa.Column("day", sa.String(6), primary_key=True),
        sa.Column("last_value", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dossier_code_sequence")
    op.drop_table("dossier_history")
    op.drop_table("dossier_attachment")
    op.drop_table("dossier")
    op.drop_table("catalog_procedure")
