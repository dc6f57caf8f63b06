"""Engines, sessions and column types shared by every service's storage."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from services.core.problems import Problem


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back timezone-aware.

    SQLite has no time zones, so every service stores UTC and converts at the edge.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cursor.close()


# Execution options of a connection that only reads: on SQLite its transaction takes no
# write lock, so it neither waits for writers nor makes them wait.
READ_ONLY: dict[str, Any] = {"portal_read_only": True}


# Execution options of a short write that others wait on (the relay marking rows
# published): on SQLite it asks for the write lock more often than ordinary writers, so a
# steady stream of requests does not starve it.
URGENT_WRITE: dict[str, Any] = {"portal_urgent_write": True}

BUSY_TIMEOUT = 10.0  # seconds a SQLite writer waits for the write lock before failing


def _begin_sqlite(connection: Any) -> None:
    if connection.get_execution_options().get("portal_read_only"):
        connection.exec_driver_sql("BEGIN DEFERRED")
        return
    # Take the write lock at BEGIN so two writers queue instead of failing with
    # "database is locked" when a reader upgrades to a writer.
    urgent = connection.get_execution_options().get("portal_urgent_write", False)
    begin_immediate(
        connection.connection.dbapi_connection, max_pause=URGENT_PAUSE if urgent else MAX_PAUSE
    )


MAX_PAUSE = 0.002  # the longest sleep of a writer between two tries for the lock
URGENT_PAUSE = 0.0002  # an urgent writer tries again this often


def begin_immediate(
    dbapi_connection: Any, timeout: float = BUSY_TIMEOUT, max_pause: float = MAX_PAUSE
) -> None:
    """BEGIN IMMEDIATE, retried every fraction of a millisecond while another holds the lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10 … up to 100 ms between tries, so a
    writer that arrives during a 1 ms transaction may wait 8 ms or more, and one that
    keeps missing the lock falls behind writers that try more often. Short, capped
    sleeps keep the wait close to the time the lock is actually held; an urgent writer
    (`max_pause` smaller) tries more often than the others and so mostly gets it first.
    """
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        pause = min(0.0002, max_pause)
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, max_pause)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")


def make_engine(
    url: str, *, connect_args: Mapping[str, Any] | None = None, **kwargs: Any
) -> Engine:
    """Create an engine: SQLite in WAL mode with foreign keys, or PostgreSQL via psycopg 3."""
    parsed = make_url(url)
    args = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        args.setdefault("timeout", 10)
        args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=args, **kwargs)
        # pysqlite's own transaction handling must be off for BEGIN IMMEDIATE to work.
        engine.dialect.isolation_level = None  # type: ignore[attr-defined]
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    # While the database is down a request must fail fast (503), not wait on a dead host.
    args.setdefault("connect_timeout", 2)
    kwargs.setdefault("pool_timeout", 5)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, connect_args=args, **kwargs)


def make_session_factory(engine: Engine, **info: Any) -> sessionmaker[Session]:
    """Sessions that do not expire objects on commit; `info` travels with each session."""
    return sessionmaker(bind=engine, expire_on_commit=False, info=dict(info))


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def is_postgresql(engine_or_session: Engine | Session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """The one unit-of-work idiom of every service.

    Commits when the block ends normally, and also when it raises a Problem marked
    `kept()` (a refusal whose side effects, such as a counted wrong try, must be
    stored); rolls back on anything else.
    """
    session = sessions()
    try:
        yield session
        session.commit()
    except Problem as problem:
        if problem.commit_anyway:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
