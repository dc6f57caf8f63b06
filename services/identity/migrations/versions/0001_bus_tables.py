"""The bus tables: outbox, inbox, relay lease.

Revision ID: identity_0001
Revises:
"""

from services.core.bus import create_bus_tables, drop_bus_tables

revision = "identity_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_bus_tables()


def downgrade() -> None:
    drop_bus_tables()
