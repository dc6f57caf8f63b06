"""The reconnect loop the relay and the consumer share: run a connection until it ends,
then try again with exponential backoff until asked to stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FIRST_BACKOFF = 0.2  # seconds before the first retry
STABLE_AFTER = 10.0  # a connection that lasted this long starts the backoff afresh


def reconnect_until_stopped(
    connect: Callable[[], None],
    *,
    stopping: threading.Event,
    max_backoff: float,
    errors: tuple[type[BaseException], ...],
    on_error: Callable[[BaseException], None],
    after: Callable[[], None],
) -> None:
    """Call `connect()` (which runs one connection to its end) again and again.

    An exception of `errors` goes to `on_error`; others propagate. `after()` runs once each
    connection ended, however it ended. Between tries the wait doubles up to `max_backoff`,
    and the loop returns as soon as `stopping` is set.
    """
    backoff = FIRST_BACKOFF
    while not stopping.is_set():
        started = time.monotonic()
        try:
            connect()
        except errors as exc:
            on_error(exc)
        finally:
            after()
        if stopping.is_set():
            break
        if time.monotonic() - started > STABLE_AFTER:
            backoff = FIRST_BACKOFF
        stopping.wait(backoff)
        backoff = min(max_backoff, backoff * 2)
