"""SQLite transactions: writers queue on the write lock, readers never wait for it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.core import db
from services.core.bus.sqlite import SqliteClaim
from services.core.db import (
    MAX_PAUSE,
    READ_ONLY,
    URGENT_PAUSE,
    begin_immediate,
    make_engine,
    make_session_factory,
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    return engine


def hold_write_lock(engine: Engine, release: threading.Event) -> threading.Thread:
    """A writer holding the write lock until `release` is set."""
    held = threading.Event()

    def hold() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1"))
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    return thread


def test_concurrent_writers_queue_and_none_fails(engine: Engine) -> None:
    def write(times: int) -> None:
        for _ in range(times):
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=write, args=(100,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 300


def test_a_writer_waits_for_the_lock_and_a_reader_does_not(engine: Engine) -> None:
    release = threading.Event()
    holder = hold_write_lock(engine, release)
    # Would wait (and fail after the busy timeout) if it asked for the write lock.
    with engine.connect().execution_options(**READ_ONLY) as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 0
    written = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1"))
        written.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not written.wait(0.3), "the writer did not wait for the lock"
    release.set()
    assert written.wait(30), "the writer did not get the lock once it was free"
    holder.join()
    writer.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 2


def test_a_writer_gives_up_after_the_timeout(engine: Engine, tmp_path: Path) -> None:
    release = threading.Event()
    holder = hold_write_lock(engine, release)
    other = sqlite3.connect(tmp_path / "locks.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(other, timeout=0.1)
    release.set()
    holder.join()
    begin_immediate(other, timeout=10)
    other.execute("ROLLBACK")
    assert other.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    other.close()


def tries_while_held(path: Path, engine: Engine, hold: float, **options: float) -> int:
    """How often begin_immediate asks for the lock while another writer holds it."""
    release = threading.Event()
    holder = hold_write_lock(engine, release)
    timer = threading.Timer(hold, release.set)
    other = sqlite3.connect(path, isolation_level=None)
    tries: list[str] = []
    other.set_trace_callback(lambda sql: tries.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    timer.start()
    begin_immediate(other, timeout=10, **options)
    other.execute("ROLLBACK")
    other.close()
    holder.join()
    return len(tries)


def test_an_urgent_writer_asks_for_the_lock_more_often(engine: Engine, tmp_path: Path) -> None:
    """The relay's marks (URGENT_WRITE) must not starve behind a stream of requests."""
    path = tmp_path / "locks.db"
    ordinary = tries_while_held(path, engine, 0.2)
    urgent = tries_while_held(path, engine, 0.2, max_pause=URGENT_PAUSE)
    assert ordinary <= 0.2 / MAX_PAUSE + 10  # backs off to one try per 2 ms
    assert urgent > 3 * ordinary


def test_the_relay_marks_rows_as_an_urgent_writer(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    real = db.begin_immediate

    def spy(connection: object, timeout: float = 10, max_pause: float = MAX_PAUSE) -> None:
        pauses.append(max_pause)
        real(connection, timeout, max_pause)

    monkeypatch.setattr(db, "begin_immediate", spy)
    sessions = make_session_factory(engine)
    with sessions() as session, session.begin():  # an ordinary write
        session.execute(text("UPDATE counter SET n = n + 1"))
    SqliteClaim(sessions, []).finish([], {}, max_backoff=60)
    assert pauses == [MAX_PAUSE, URGENT_PAUSE]
