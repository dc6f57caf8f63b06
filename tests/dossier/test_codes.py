"""Dossier codes: `<agency>-<YYMMDD>-<NNNN>`, numbered per agency per Vietnamese day."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from services.core.service import ServiceDatabase
from services.dossier.workflow import allocate_code
from tests.dossier.conftest import AGENCY, OTHER_AGENCY

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # 7 December in Vietnam


def draw(database: ServiceDatabase, agency: str = AGENCY) -> str:
    with database.sessions() as session, session.begin():
        return allocate_code(session, agency, NOW)


def test_concurrent_submissions_get_every_number_once(database: ServiceDatabase) -> None:
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: draw(database), range(40)))
    assert {code.rsplit("-", 1)[0] for code in codes} == {f"{AGENCY}-261207"}
    assert sorted(int(code.rsplit("-", 1)[1]) for code in codes) == list(range(1, 41))
    assert draw(database, OTHER_AGENCY) == f"{OTHER_AGENCY}-261207-0001"


def test_a_number_drawn_does_not_wait_for_the_submission_to_commit(
    database: ServiceDatabase,
) -> None:
    """On PostgreSQL the counter row is held for one short transaction, not for the rest
    of a submission: every submission of the agency that day would queue behind it."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the number is drawn in the submission")
    assert draw(database) == f"{AGENCY}-261207-0001"
    drawn: list[str] = []
    with database.sessions() as session, session.begin():
        held = allocate_code(session, AGENCY, NOW)  # this submission has not committed yet
        other = threading.Thread(target=lambda: drawn.append(draw(database)))
        other.start()
        other.join(10)
        assert not other.is_alive(), "a second submission waited for the first to commit"
        session.rollback()  # the first submission fails after all
    assert held == f"{AGENCY}-261207-0002" and drawn == [f"{AGENCY}-261207-0003"]
    # Its number stays spent: codes may skip, never repeat.
    assert draw(database) == f"{AGENCY}-261207-0004"
