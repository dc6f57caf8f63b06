"""Run relays and consumers in threads for the length of a `with` block."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Runnable(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


@contextmanager
def running(*parts: Runnable) -> Iterator[None]:
    threads = [threading.Thread(target=p.run, daemon=True) for p in parts]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for part in parts:
            part.stop()
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive(), "a bus component did not stop within 15 s"
