"""The catalogue: agencies, fields, life events, procedures and the search index.

SQLite: an FTS5 table `procedure_fts` (rowid = procedure.id) over the folded name and
description. PostgreSQL: generated tsvector columns over the same folded text, with
a GIN index; the 'simple' configuration is built in, so no extension is needed and
the migration works inside any schema.

Revision ID: catalog_0002
Revises: catalog_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("level", sa.String(16), nullable=False, index=True),
        sa.Column("parent_code", sa.String(32), nullable=True, index=True),
        sa.Column("province", sa.String(2), nullable=False, index=True),
        sa.Column("origin", sa.String(2), nullable=False),
    )
    op.create_table(
        "field",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
    )
    op.create_table(
        "life_event",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
    )
    op.create_table(
        "procedure",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False, index=True),
        sa.Column("province", sa.String(2), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("name_folded", sa.Text, nullable=False),
        sa.Column("description_folded", sa.Text, nullable=False),
        sa.Column("field_code", sa.String(32), nullable=False, index=True),
        sa.Column("service_level", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("code", "province", name="uq_procedure_code_province"),
    )
    op.create_index("ix_procedure_listing", "procedure", ["withdrawn_at", "code"])
    op.create_table(
        "procedure_agency",
        sa.Column(
            "procedure_id",
            sa.Integer,
            sa.ForeignKey("procedure.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("agency_code", sa.String(32), primary_key=True, index=True),
        sa.Column("level", sa.String(16), nullable=False, index=True),
    )
    op.create_table(
        "procedure_life_event",
        sa.Column(
            "procedure_id",
            sa.Integer,
            sa.ForeignKey("procedure.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("life_event_code", sa.String(32), primary_key=True, index=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE procedure ADD COLUMN name_tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, name_folded)) STORED"
        )
        op.execute(
            "ALTER TABLE procedure ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
            "(setweight(to_tsvector('simple'::regconfig, name_folded), 'A') || "
            "setweight(to_tsvector('simple'::regconfig, description_folded), 'B')) STORED"
        )
        op.execute(
            "CREATE INDEX ix_procedure_search ON procedure USING gin (search_tsv) "
            "WHERE withdrawn_at IS NULL"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE procedure_fts USING fts5("
            "name, description, code UNINDEXED, province UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS procedure_fts")
    op.drop_table("procedure_life_event")
    op.drop_table("procedure_agency")
    op.drop_table("procedure")
    op.drop_table("life_event")
    op.drop_table("field")
    op.drop_table("agency")
