"""What a service process holds: its settings, database and session factory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.outbox import OutboxContext
from services.core.config import ServiceSettings
from services.core.db import make_engine, make_session_factory
from services.core.migrate import upgrade


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
