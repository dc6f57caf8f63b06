"""Scratch databases for tests and benchmarks: a SQLite file or a PostgreSQL schema of its own."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from services.core.db import make_engine


@dataclass(frozen=True)
class ScratchDatabase:
    """Where a scratch database is: `url` with `connect_args`, or `url_only` alone."""

    kind: str
    url: str
    connect_args: dict[str, str]

    @property
    def url_only(self) -> str:
        """The same database as one URL (the schema rides in psycopg's `options`)."""
        if not self.connect_args:
            return self.url
        return f"{self.url}?options={urllib.parse.quote(self.connect_args['options'])}"


@contextmanager
def scratch_database(
    kind: str, tmp_path: Path, postgres_url: str | None, prefix: str = "t"
) -> Iterator[ScratchDatabase]:
    """SQLite: a new file under `tmp_path`. PostgreSQL: a new schema, dropped afterwards."""
    if kind == "sqlite":
        yield ScratchDatabase(kind, f"sqlite:///{tmp_path}/{prefix}-{uuid.uuid4().hex[:6]}.db", {})
        return
    assert postgres_url is not None
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield ScratchDatabase(kind, postgres_url, {"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
