"""The dossier service's worker: `python -m services.dossier.worker`.

Runs the outbox relay, the catalogue consumer and the overdue scan; seeds the
procedure read copy from the catalogue API at start when it is empty.
"""

from __future__ import annotations

import logging
import threading

import requests
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import Worker
from services.core.logs import configure_logging
from services.dossier import SERVICE
from services.dossier.catalog import sync_if_empty
from services.dossier.context import DossierContext, build_context
from services.dossier.events import build_consumer
from services.dossier.overdue import scan_overdue

log = logging.getLogger(__name__)


class OverdueScanner:
    """Runs the overdue scan every `interval` seconds until stop()."""

    def __init__(
        self, sessions: sessionmaker[Session], ctx: DossierContext, interval: float
    ) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                scan_overdue(self.sessions, self.ctx, self.ctx.clock())
            except Exception:
                log.exception("overdue scan failed")
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()


def main() -> None:
    ctx = build_context()
    settings, database, config = ctx.settings, ctx.database, ctx.config
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    try:
        sync_if_empty(database.sessions, config.catalog_url, timeout=config.catalog_timeout)
    except (requests.RequestException, ValueError) as exc:
        # Events will fill the read copy; the sync is only a head start.
        log.warning("catalogue sync skipped: %s", exc)
    consumer = build_consumer(ctx)
    scanner = OverdueScanner(database.sessions, ctx, config.overdue_scan_interval)
    thread = threading.Thread(target=scanner.run, name="dossier-overdue", daemon=True)
    thread.start()
    try:
        Worker(settings, database.engine, database.sessions, consumer).run_forever()
    finally:
        scanner.stop()
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
