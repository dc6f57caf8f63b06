"""Alembic migrations of a service, run programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData


def alembic_config(migrations_dir: Path, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["engine"] = engine
    return config


def upgrade(migrations_dir: Path, engine: Engine, revision: str = "head") -> None:
    """Bring the service's database to `revision` (default: the newest)."""
    command.upgrade(alembic_config(migrations_dir, engine), revision)


def run_env(metadata: list[MetaData]) -> None:
    """Body of every service's migrations/env.py: online migrations on the given engine."""
    from alembic import context

    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
