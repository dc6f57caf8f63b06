"""What every service process holds: one context built by one `build_context()`.

Each service subclasses `ServiceContext` in its own `context.py` and adds its
collaborators; its web app, its worker and its `manage` commands all build that one
object and nothing else. Routes reach it through `current_context()`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.auth import TokenVerifier
from services.core.bus.outbox import OutboxContext
from services.core.config import ServiceSettings
from services.core.db import make_engine, make_session_factory, transaction
from services.core.migrate import upgrade

CONTEXT_KEY = "service_context"


@dataclass
class ServiceDatabase:
    """The one database a service owns; sessions write outbox rows as this service."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, settings: ServiceSettings) -> ServiceDatabase:
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(
            engine, outbox=OutboxContext(source=settings.service, province=settings.province)
        )
        return cls(engine, sessions)

    def migrate(self, migrations_dir: Path) -> None:
        upgrade(migrations_dir, self.engine)


@dataclass
class ServiceContext:
    """Settings, database, token verifier and clock: what every service's context has."""

    settings: ServiceSettings
    database: ServiceDatabase
    verifier: TokenVerifier
    clock: Callable[[], datetime]

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.database.sessions

    def transaction(self) -> AbstractContextManager[Session]:
        """One unit of work: commit on success (and on kept refusals), else roll back."""
        return transaction(self.database.sessions)

    def read(self) -> Session:
        """A session for reads only (`with ctx.read() as session:`); nothing is committed."""
        return self.database.sessions()


C = TypeVar("C", bound=ServiceContext)


def current_context(kind: type[C]) -> C:
    """The context of the running app, checked to be of the service's own kind."""
    ctx = current_app.extensions[CONTEXT_KEY]
    if not isinstance(ctx, kind):
        raise TypeError(f"the app's context is a {type(ctx).__name__}, not a {kind.__name__}")
    return ctx
