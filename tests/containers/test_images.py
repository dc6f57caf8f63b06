"""The images `make images` builds: what is in them, and that a rerun builds nothing."""

from __future__ import annotations

import subprocess
import time

import pytest

from deploy.images import build
from tests.containers.conftest import record_figure

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]


def run_in(image: str, *command: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    options = ["--user", user] if user else []
    return subprocess.run(
        ["docker", "run", "--rm", *options, "--entrypoint", command[0], image, *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_image_is_named_for_compose(images: dict[str, str]) -> None:
    assert images["PORTAL_IMAGE"] == build.APP_IMAGE
    assert images["PORTAL_BASE_IMAGE"] == build.BASE_IMAGE
    assert images["POSTGRES_IMAGE"] == "portal-postgres:bookworm"
    assert images["REDIS_IMAGE"] == "portal-redis:bookworm"
    for ref in images.values():
        assert build.image_label(ref), f"{ref} has no inputs label"


def test_the_portal_image_runs_as_a_user_without_compilers_or_build_secrets(
    images: dict[str, str],
) -> None:
    app = images["PORTAL_IMAGE"]
    who = run_in(app, "id", "-u")
    assert who.returncode == 0 and who.stdout.strip() == "10001", who
    found = run_in(app, "sh", "-c", "for t in gcc cc c++ make pip pip3; do command -v $t; done")
    assert found.stdout.strip() == "", found.stdout
    # The build stage's CA bundle, pip.conf and sources never reach the final image.
    leftovers = run_in(app, "sh", "-c", "ls -d /build /src /root/.cache/pip 2>/dev/null; true")
    assert leftovers.stdout.strip() == "", leftovers.stdout
    version = run_in(app, "python", "-c", "import services, gateway, sys; print(sys.version)")
    assert version.returncode == 0 and version.stdout.startswith("3.11"), version


def test_postgres_and_redis_images_come_from_debian_packages(images: dict[str, str]) -> None:
    postgres = run_in(images["POSTGRES_IMAGE"], "postgres", "--version")
    assert postgres.returncode == 0 and "PostgreSQL" in postgres.stdout, postgres
    redis = run_in(images["REDIS_IMAGE"], "redis-server", "--version")
    assert redis.returncode == 0 and "Redis server" in redis.stdout, redis
    assert run_in(images["REDIS_IMAGE"], "id", "-un").stdout.strip() == "redis"


def test_a_rerun_with_unchanged_inputs_builds_nothing(images: dict[str, str]) -> None:
    started = time.monotonic()
    built, names = build.build_all(quiet=True, report=False)
    took = time.monotonic() - started
    record_figure(f"images: rerun with unchanged inputs {took:.1f} s")
    assert names == images
    assert [b.ref for b in built if b.rebuilt] == []
