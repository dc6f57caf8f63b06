"""Settings every web process shares; gunicorn reads this file from the working directory.

`WEB_NICE` (default 0): the niceness each web worker takes after the fork. On one
machine shared by every process (`make run` sets 10), the workers that relay events and
deliver notifications then get the CPU first, so a burst of requests slows new requests
down instead of letting the notification backlog grow. In Kubernetes each Deployment has
its own CPU requests instead.

Metrics: the workers of one gunicorn count into one prometheus-client multiprocess
directory, so a scrape of /metrics answers for the whole process, not for the one worker
that took the scrape. The directory is made here, fresh for each gunicorn (two processes
never share it), under `WEB_METRICS_DIR` (default: the system's temporary directory), and
removed when gunicorn exits. `PROMETHEUS_MULTIPROC_DIR` is set before any worker imports
prometheus_client (also with `--preload`, since gunicorn reads this file first).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any


def web_niceness(env: Mapping[str, str] = os.environ) -> int:
    value = env.get("WEB_NICE", "").strip() or "0"
    if not value.isdigit() or int(value) > 19:
        raise ValueError(f"WEB_NICE must be a whole number from 0 to 19, got {value!r}")
    return int(value)


def metrics_directory(env: Mapping[str, str] = os.environ) -> str:
    """A new, empty directory for this gunicorn's workers' metric files (the one it made
    already when gunicorn reads this file again on SIGHUP)."""
    prefix = f"portal-metrics-{os.getpid()}-"
    current = env.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.basename(current).startswith(prefix) and os.path.isdir(current):
        return current
    parent = env.get("WEB_METRICS_DIR", "").strip() or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    remove_orphans(parent)
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def remove_orphans(parent: str) -> None:
    """Directories of gunicorns that died without on_exit (SIGKILL) are removed."""
    for entry in os.scandir(parent):
        found = re.fullmatch(r"portal-metrics-(\d+)-\w+", entry.name)
        if found is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def post_fork(server: Any, worker: Any) -> None:
    niceness = web_niceness()
    if niceness:
        os.nice(niceness)


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's counters stay counted; its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__config__":  # the name gunicorn loads its configuration file under
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_directory()
