"""deploy/postgres/init-databases.sh on the real PostgreSQL: a database and role per service."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres" / "init-databases.sh"


@pytest.fixture
def names(postgres_url: str) -> Iterator[tuple[str, str]]:
    tag = f"t{uuid.uuid4().hex[:8]}"
    pair = (f"{tag}_identity", f"{tag}_dossier")
    yield pair
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as conn:
        for name in pair:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_each_service_gets_its_own_database_that_no_other_role_may_enter(
    postgres_url: str, names: tuple[str, str]
) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    server = urlparse(postgres_url.replace("+psycopg", ""))
    env = {
        **os.environ,
        "PORTAL_DATABASES": " ".join(names),
        "POSTGRES_USER": server.username or "postgres",
        "PGHOST": server.hostname or "127.0.0.1",
        "PGPORT": str(server.port or 5432),
        **{f"{name.upper()}_DB_PASSWORD": uuid.uuid4().hex for name in names},
    }
    if server.password:
        env["PGPASSWORD"] = server.password
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True, capture_output=True)
    host = f"host={env['PGHOST']} port={env['PGPORT']}"
    first, second = names
    with psycopg.connect(f"{host} dbname={first} user={first}") as conn:
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (first,)
        )
        assert owner.fetchone() == (first,)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(f"{host} dbname={second} user={first}")
