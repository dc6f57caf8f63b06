"""The notify service's worker: `python -m services.notify.worker`.

Besides the relay and the consumer of every worker, it runs the delivery dispatcher.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import Consumer, Worker
from services.core.config import ServiceSettings
from services.core.logs import configure_logging
from services.notify import SERVICE
from services.notify.context import NotifyContext, build_context
from services.notify.dispatcher import Dispatcher
from services.notify.events import build_consumer


class NotifyWorker(Worker):
    """The shared worker plus the delivery dispatcher thread."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: Engine,
        session_factory: sessionmaker[Session],
        consumer: Consumer,
        dispatcher: Dispatcher,
    ) -> None:
        super().__init__(settings, engine, session_factory, consumer)
        self.dispatcher = dispatcher
        self._dispatcher_thread: threading.Thread | None = None

    def ready(self) -> dict[str, bool]:
        checks = super().ready()
        checks["dispatcher"] = self.dispatcher.running
        return checks

    def start(self) -> None:
        self._dispatcher_thread = threading.Thread(
            target=self.dispatcher.run, name=f"{SERVICE}-dispatcher"
        )
        self._dispatcher_thread.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        self.dispatcher.stop()

    def join(self) -> None:
        super().join()
        if self._dispatcher_thread is not None:
            self._dispatcher_thread.join()


def build_worker(ctx: NotifyContext) -> NotifyWorker:
    dispatcher = ctx.dispatcher()
    consumer = build_consumer(ctx, dispatcher)
    return NotifyWorker(ctx.settings, ctx.database.engine, ctx.sessions, consumer, dispatcher)


def main() -> None:
    settings = ServiceSettings.from_env(SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_json)
    build_worker(build_context(settings)).run_forever()


if __name__ == "__main__":
    main()
