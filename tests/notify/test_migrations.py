"""The hand-written migrations match the models and go down and up again."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from services.core.migrate import alembic_config, upgrade
from services.notify.app import MIGRATIONS
from services.notify.models import Base
from tests.notify.conftest import NotifyDb

OWN_TABLES = set(Base.metadata.tables)


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in OWN_TABLES:
            return part
        if name in OWN_TABLES:
            return str(name)
    return None


def test_models_and_migrations_agree(notify_db: NotifyDb) -> None:
    with notify_db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in OWN_TABLES]
    assert diffs == []


def test_downgrade_and_upgrade_again(notify_db: NotifyDb) -> None:
    command.downgrade(alembic_config(MIGRATIONS, notify_db.engine), "notify_0001")
    assert not OWN_TABLES & set(inspect(notify_db.engine).get_table_names())
    upgrade(MIGRATIONS, notify_db.engine)
    assert set(inspect(notify_db.engine).get_table_names()) >= OWN_TABLES
