"""Settings every web process shares; gunicorn reads this file from the working directory.

`WEB_NICE` (default 0): the niceness each web worker takes after the fork. On one
machine shared by every process (`make run` sets 10), the workers that relay events and
deliver notifications then get the CPU first, so a burst of requests slows new requests
down instead of letting the notification backlog grow. In Kubernetes each Deployment has
its own CPU requests instead (the image does not carry this file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


def web_niceness(env: Mapping[str, str] = os.environ) -> int:
    value = env.get("WEB_NICE", "").strip() or "0"
    if not value.isdigit() or int(value) > 19:
        raise ValueError(f"WEB_NICE must be a whole number from 0 to 19, got {value!r}")
    return int(value)


def post_fork(server: Any, worker: Any) -> None:
    niceness = web_niceness()
    if niceness:
        os.nice(niceness)
