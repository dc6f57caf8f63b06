"""A Docker engine and the portal's images, once per test session.

Tests marked `containers` need a Docker engine, the docker-compose client and
mmdebstrap (`.ci/run` installs them and starts dockerd). In CI (CI=true) a missing
engine fails these tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.images import build

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Two xdist workers may both want the images: one builds, the other waits, then finds
# them up to date (their inputs label).
LOCK_FILE = Path("/tmp/portal-images-build.lock")
FIGURES_FILE = build.ROOT / "var" / "containers-figures.txt"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "containers: needs a Docker engine, docker-compose and mmdebstrap"
    )


def docker_unavailable() -> str | None:
    """Why the container tests cannot run here, or None."""
    for tool, package in (
        ("docker", "docker.io"),
        ("docker-compose", "docker-compose"),
        ("mmdebstrap", "mmdebstrap"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package}; .ci/run does it)"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer (docker info timed out)"
    if info.returncode != 0:
        return "the Docker engine is not running (dockerd >/var/log/dockerd.log 2>&1 &)"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> None:
    reason = docker_unavailable()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI never skips the container tests)", pytrace=False)
        pytest.skip(reason)


def record_figure(line: str) -> None:
    """A measured figure: printed, and kept in var/containers-figures.txt for the report."""
    print(line, flush=True)
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with FIGURES_FILE.open("a", encoding="utf-8") as out:
        out.write(f"{stamp} {line}\n")


@pytest.fixture(scope="session")
def images(docker_engine: None) -> Iterator[dict[str, str]]:
    """Every image built (or found up to date); the compose variables naming them."""
    started = time.monotonic()
    with LOCK_FILE.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            built, names = build.build_all(quiet=True, report=False)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    parts = ", ".join(b.line() for b in built)
    record_figure(f"images: {parts}; {time.monotonic() - started:.1f} s in all")
    yield names
