"""The one reconnect loop of the relay and the consumer: backoff, errors, stopping."""

from __future__ import annotations

import threading

import pytest

from services.core.bus.reconnect import FIRST_BACKOFF, reconnect_until_stopped


class CountingStop(threading.Event):
    """Records each wait instead of sleeping; sets itself after `limit` waits."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.limit = limit

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


def test_the_wait_doubles_up_to_the_maximum_and_every_end_is_cleaned_up() -> None:
    stop = CountingStop(limit=6)
    errors: list[BaseException] = []
    ended: list[int] = []

    def connect() -> None:
        raise OSError("refused")

    reconnect_until_stopped(
        connect,
        stopping=stop,
        max_backoff=1.0,
        errors=(OSError,),
        on_error=errors.append,
        after=lambda: ended.append(1),
    )
    assert stop.waits == [FIRST_BACKOFF, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert len(errors) == len(ended) == 6


def test_an_error_it_was_not_told_of_propagates_after_the_clean_up() -> None:
    ended: list[int] = []

    def connect() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        reconnect_until_stopped(
            connect,
            stopping=CountingStop(limit=5),
            max_backoff=1.0,
            errors=(OSError,),
            on_error=lambda exc: None,
            after=lambda: ended.append(1),
        )
    assert ended == [1]


def test_a_stop_during_a_connection_returns_without_waiting() -> None:
    stop = CountingStop(limit=5)

    def connect() -> None:
        stop.set()

    reconnect_until_stopped(
        connect,
        stopping=stop,
        max_backoff=1.0,
        errors=(OSError,),
        on_error=lambda exc: None,
        after=lambda: None,
    )
    assert stop.waits == []
