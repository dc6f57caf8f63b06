"""The catalog service's worker: `python -m services.catalog.worker`."""

from __future__ import annotations

from services.catalog import SERVICE
from services.catalog.context import build_context
from services.catalog.events import build_consumer
from services.core.bus import Worker
from services.core.logs import configure_logging


def main() -> None:
    ctx = build_context()
    settings, database = ctx.settings, ctx.database
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    consumer = build_consumer(ctx)
    Worker(settings, database.engine, database.sessions, consumer).run_forever()


if __name__ == "__main__":
    main()
