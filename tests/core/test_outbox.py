"""The outbox row commits and rolls back with the business change."""

import pytest
from sqlalchemy import func, select

from services.core.bus import OutboxMessage, record_event, send_command
from services.core.context import message_context
from tests.conftest import Database
from tests.support.models import Thing


def count(db: Database, model: type) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_event_commits_with_the_business_row(db: Database) -> None:
    with db.sessions() as session, session.begin():
        session.add(Thing(name="a"))
        with message_context("req-42", None):
            env = record_event(session, "test.thing.created", {"name": "a"}, subject="a")
        send_command(session, "notify.send", {"template": "x"})
    assert count(db, Thing) == 1
    with db.sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)).all()
    assert [r.kind for r in rows] == ["event", "command"]
    assert rows[0].message_id == env.id
    assert rows[0].published_at is None
    assert rows[0].correlation_id == "req-42"
    assert rows[0].next_attempt_at.tzinfo is not None
    assert env.source == "test" and env.province == "38"


def test_event_rolls_back_with_the_business_row(db: Database) -> None:
    with pytest.raises(RuntimeError), db.sessions() as session, session.begin():
        session.add(Thing(name="b"))
        record_event(session, "test.thing.created", {"name": "b"})
        session.flush()
        raise RuntimeError("business rule failed")
    assert count(db, Thing) == 0
    assert count(db, OutboxMessage) == 0
