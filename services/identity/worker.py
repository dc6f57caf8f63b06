"""The identity service's worker: `python -m services.identity.worker`.

Besides the outbox relay it purges expired registrations and flows periodically and
consumes notify's delivery outcomes of identity's OTPs.
"""

from __future__ import annotations

import logging
import threading

from services.core.bus import Worker
from services.core.logs import configure_logging
from services.identity import SERVICE
from services.identity.context import build_context
from services.identity.events import build_consumer
from services.identity.registration import Registrations

log = logging.getLogger(__name__)


def purge_periodically(
    registrations: Registrations, interval: float, stop: threading.Event
) -> None:
    """Delete expired registration data every `interval` seconds until `stop` is set."""
    while not stop.wait(interval):
        try:
            purged = registrations.purge_expired()
            if purged:
                log.info("purged %s expired registrations", purged)
        except Exception:
            log.exception("purging expired registrations failed")


def main() -> None:
    ctx = build_context()
    settings, database = ctx.settings, ctx.database
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    stop = threading.Event()
    purger = threading.Thread(
        target=purge_periodically,
        args=(Registrations(ctx), ctx.config.purge_interval_seconds, stop),
        name="identity-purge",
        daemon=True,
    )
    purger.start()
    consumer = build_consumer(ctx)
    try:
        Worker(settings, database.engine, database.sessions, consumer).run_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
