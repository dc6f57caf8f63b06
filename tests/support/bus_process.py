"""A relay or consumer in a process of its own, for tests that kill it.

    python -m tests.support.bus_process MODE  (settings in the BUS_PROCESS_* environment)

Modes: relay-die-after-confirm, consumer-die-mid-handler, consumer-slow-handler.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

from sqlalchemy.orm import Session

from services.core.bus import Consumer, Envelope, Names, OutboxContext, OutboxRelay
from services.core.bus.claims import Claim
from services.core.bus.postgresql import PostgresClaim
from services.core.bus.sqlite import SqliteClaim
from services.core.config import BusSettings
from services.core.db import make_engine, make_session_factory
from tests.support.models import Effect


def main(mode: str) -> None:
    env = os.environ
    raw = json.loads(env["BUS_PROCESS_SETTINGS"])
    settings = BusSettings(**{**raw, "retry_delays": tuple(raw["retry_delays"])})
    engine = make_engine(
        env["BUS_PROCESS_DB_URL"], connect_args=json.loads(env["BUS_PROCESS_CONNECT"])
    )
    sessions = make_session_factory(engine, outbox=OutboxContext(source="test"))
    names = Names(settings.namespace)
    marker = Path(env["BUS_PROCESS_MARKER"])

    if mode == "relay-die-after-confirm":

        def die(self: Claim, *args: object, **kwargs: object) -> None:
            # Every row of the batch is confirmed; none is marked published.
            marker.write_text(json.dumps([row.message_id for row in self.rows]))
            os.kill(os.getpid(), signal.SIGKILL)

        def die_together(
            _factory: object, outcomes: list[tuple[Claim, object, object]], *_: object
        ) -> None:
            # SQLite marks every batch waiting for its marks in one transaction.
            marker.write_text(json.dumps([r.message_id for c, _, _ in outcomes for r in c.rows]))
            os.kill(os.getpid(), signal.SIGKILL)

        PostgresClaim.finish = die  # type: ignore[method-assign]
        SqliteClaim.finish_together = staticmethod(die_together)  # type: ignore[method-assign,assignment]
        OutboxRelay(sessions, settings, service="test", names=names).run()
        return

    consumer = Consumer("test", sessions, settings, names=names)

    if mode == "consumer-die-mid-handler":

        @consumer.on_event("test.#")
        def die_mid_handler(session: Session, envelope: Envelope) -> None:
            session.add(Effect(message_id=envelope.id, consumer="test", value="dying"))
            session.flush()
            marker.write_text(envelope.id)
            os.kill(os.getpid(), signal.SIGKILL)

    elif mode == "consumer-slow-handler":
        release = threading.Event()

        @consumer.on_event("test.#")
        def slow(session: Session, envelope: Envelope) -> None:
            marker.write_text(envelope.id)
            # SIGTERM arrives while we are here; the message in hand is still finished.
            release.wait(1.0)
            session.add(Effect(message_id=envelope.id, consumer="test", value="slow"))

    else:
        raise SystemExit(f"unknown mode {mode}")

    def on_term(signum: int, frame: object) -> None:
        consumer.stop()

    signal.signal(signal.SIGTERM, on_term)
    consumer.run()
    sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
