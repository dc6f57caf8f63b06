"""The identity service's worker: `python -m services.identity.worker`.

Besides the outbox relay it purges expired registrations and flows periodically.
"""

from __future__ import annotations

import logging
import threading

from services.core.config import ServiceSettings
from services.core.logs import configure_logging
from services.core.service import ServiceDatabase
from services.core.worker import Worker
from services.identity import SERVICE
from services.identity.config import IdentityConfig
from services.identity.events import build_consumer
from services.identity.registration import Registrations
from services.identity.service import Identity

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
    settings = ServiceSettings.from_env(SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    config = IdentityConfig.from_env()
    database = ServiceDatabase.open(settings)
    identity = Identity(settings, config, database.sessions)
    stop = threading.Event()
    purger = threading.Thread(
        target=purge_periodically,
        args=(identity.registrations, config.purge_interval_seconds, stop),
        name="identity-purge",
        daemon=True,
    )
    purger.start()
    consumer = build_consumer(settings, database.sessions)
    try:
        Worker(settings, database.engine, database.sessions, consumer).run_forever()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
