"""The notify service's worker: `python -m services.notify.worker`."""

from __future__ import annotations

from services.core.config import ServiceSettings
from services.core.logs import configure_logging
from services.core.service import ServiceDatabase
from services.core.worker import Worker
from services.notify import SERVICE
from services.notify.events import build_consumer


def main() -> None:
    settings = ServiceSettings.from_env(SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    database = ServiceDatabase.open(settings)
    consumer = build_consumer(settings, database.sessions)
    Worker(settings, database.engine, database.sessions, consumer).run_forever()


if __name__ == "__main__":
    main()
