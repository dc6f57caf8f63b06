"""One database transaction per request, keeping counted refusals (wrong OTP, password)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from services.core.problems import Problem

P = TypeVar("P", bound=Problem)


def kept(problem: P) -> P:
    """Mark a refusal whose side effects (a counted try, a log line) must be committed."""
    problem.commit_anyway = True  # type: ignore[attr-defined]
    return problem


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success and on kept refusals; roll back on anything else."""
    session = sessions()
    try:
        yield session
        session.commit()
    except Problem as problem:
        if getattr(problem, "commit_anyway", False):
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
