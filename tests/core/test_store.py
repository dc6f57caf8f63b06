"""The relay's claims: one row per subject at a time, in order, never a row held elsewhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.core.bus import OutboxMessage, OutboxStore, record_event
from services.core.bus.claims import Claim
from services.core.bus.sqlite import SqliteClaim
from tests.conftest import Database


def fill(db: Database) -> dict[str, int]:
    """s1 twice, s2 once, one row without subject; their seqs by name."""
    with db.sessions() as session, session.begin():
        record_event(session, "test.step", {"n": "s1-1"}, subject="s1")
        record_event(session, "test.step", {"n": "s1-2"}, subject="s1")
        record_event(session, "test.step", {"n": "s2-1"}, subject="s2")
        record_event(session, "test.step", {"n": "free"})
    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)).all()
        names = ["s1-1", "s1-2", "s2-1", "free"]
        return {name: row.seq for name, row in zip(names, rows, strict=True)}


def claim_again(db: Database, store: OutboxStore, held: Claim) -> Claim | None:
    """A second claim while `held` is in flight: another relay on PostgreSQL, on SQLite
    the same relay (the only one there) telling what it holds."""
    if db.kind == "postgresql":
        return OutboxStore(db.sessions).claim(100)
    seqs = {row.seq for row in held.rows}
    subjects = {row.subject for row in held.rows if row.subject is not None}
    return store.claim(100, seqs, subjects)


def test_a_claim_takes_the_first_unpublished_row_of_each_subject(db: Database) -> None:
    seq = fill(db)
    store = OutboxStore(db.sessions)
    first = store.claim(100)
    assert first is not None
    assert [row.seq for row in first.rows] == [seq["s1-1"], seq["s2-1"], seq["free"]]
    assert claim_again(db, store, first) is None, "a held row or a later row of its subject"
    first.finish([row.seq for row in first.rows], {}, 1.0)
    second = store.claim(100)
    assert second is not None
    assert [row.seq for row in second.rows] == [seq["s1-2"]]
    second.finish([seq["s1-2"]], {}, 1.0)
    assert store.claim(100) is None
    assert store.status().pending == 0


def test_a_failed_row_backing_off_holds_back_its_subject(db: Database) -> None:
    seq = fill(db)
    store = OutboxStore(db.sessions)
    first = store.claim(100)
    assert first is not None
    first.finish([seq["s2-1"], seq["free"]], {seq["s1-1"]: "nacked by broker"}, 60.0)
    assert store.claim(100) is None, "s1-2 went before s1-1 was published"
    with db.sessions() as session:
        failed = session.get(OutboxMessage, seq["s1-1"])
        assert failed is not None and failed.attempts == 1
        assert failed.last_error == "nacked by broker" and failed.published_at is None


def test_a_released_claim_gives_its_rows_back(db: Database) -> None:
    seq = fill(db)
    store = OutboxStore(db.sessions)
    first = store.claim(100)
    assert first is not None
    first.release()
    again = store.claim(100)
    assert again is not None
    assert [row.seq for row in again.rows] == [seq["s1-1"], seq["s2-1"], seq["free"]]
    again.release()


def test_postgresql_claims_reuse_the_relays_own_connection(db: Database) -> None:
    """No pool checkout (and its pre-ping round trip) per claim; SQLite claims hold none."""
    fill(db)
    store = OutboxStore(db.sessions)
    backends = []
    for _ in range(3):
        claim = store.claim(1)
        assert claim is not None
        if db.kind == "postgresql":
            backends.append(claim._raw.driver_connection.info.backend_pid)  # type: ignore[attr-defined]
        claim.finish([row.seq for row in claim.rows], {}, 1.0)
    store.close()
    if db.kind == "postgresql":
        assert len(set(backends)) == 1


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_sqlite_marks_of_several_batches_commit_together(db: Database) -> None:
    """Batches confirmed while a mark waited for the write lock are marked at once."""
    with db.sessions() as session, session.begin():
        for n in range(1900):  # more seqs than one UPDATE binds
            record_event(session, "test.step", {"n": n}, subject=f"s{n}")
    store = OutboxStore(db.sessions)
    first = store.claim(1000)
    assert isinstance(first, SqliteClaim)
    held = {row.seq for row in first.rows}
    second = store.claim(1000, held, {row.subject for row in first.rows if row.subject})
    assert isinstance(second, SqliteClaim)
    failing = second.rows[0].seq
    SqliteClaim.finish_together(
        db.sessions,
        [
            (first, [row.seq for row in first.rows], {}),
            (second, [row.seq for row in second.rows[1:]], {failing: "nacked by broker"}),
        ],
        60.0,
    )
    with db.sessions() as session:
        unpublished = session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        ).all()
    assert [(row.seq, row.last_error, row.attempts) for row in unpublished] == [
        (failing, "nacked by broker", 1)
    ]
    assert store.status().pending == 1
