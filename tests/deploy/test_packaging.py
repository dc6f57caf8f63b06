"""A non-editable install (a wheel, as in the container image) carries every file it reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway", "deploy")
# Files beside the code that no process reads: documentation and deployment manifests.
NOT_SHIPPED = (".md",)
# deploy/images/: what `make images` builds from (Dockerfiles, entrypoints), not run
# from the wheel (its builder module is in the wheel as a package anyway).
NOT_SHIPPED_FOLDERS = ("deploy/k8s/", "deploy/rabbitmq/", "deploy/postgres/", "deploy/images/")


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [
        path
        for path in listed
        if not path.endswith(NOT_SHIPPED)
        and not path.startswith(NOT_SHIPPED_FOLDERS)
        and (ROOT / path).exists()
    ]


@pytest.mark.slow
def test_the_wheel_holds_every_module_template_and_data_file(tmp_path: Path) -> None:
    # Built from a copy of the tracked files: no stale build/ folder can fill a gap.
    source = tmp_path / "source"
    for path in [*tracked_files(), "pyproject.toml", "README.md"]:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("public_service_portal-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = [path for path in tracked_files() if path not in shipped]
    assert missing == []
    # The web pages are a folder of their own (web/), copied into the image beside the code.
    assert not any(path.startswith("gateway/web/") for path in shipped)
