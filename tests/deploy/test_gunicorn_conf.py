"""gunicorn.conf.py: web workers take the niceness WEB_NICE asks for, workers keep theirs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.portal import free_port

ROOT = Path(__file__).resolve().parents[2]

APP = """
import os


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpriority(os.PRIO_PROCESS, 0)).encode()]
"""


def worker_niceness(tmp_path: Path, web_nice: str | None) -> int:
    """Start gunicorn from the project folder (where it finds its config); ask a worker."""
    (tmp_path / "niceapp.py").write_text(APP, encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "WEB_NICE"}
    if web_nice is not None:
        env["WEB_NICE"] = web_nice
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            str(tmp_path),
            "niceapp:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    return int(answer.read())
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_web_worker_takes_the_niceness_web_nice_asks_for(tmp_path: Path) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert worker_niceness(tmp_path, "7") == min(19, base + 7)
    assert worker_niceness(tmp_path, None) == base


@pytest.mark.parametrize("value", ["-5", "20", "ten", "1.5"])
def test_a_bad_web_nice_is_refused_with_the_setting_named(value: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    with pytest.raises(ValueError, match="WEB_NICE"):
        namespace["web_niceness"]({"WEB_NICE": value})  # type: ignore[operator]


def _conf() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return namespace


def test_each_gunicorn_gets_a_metrics_directory_of_its_own_removed_on_exit(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "niceapp.py").write_text(APP, encoding="utf-8")
    metrics = tmp_path / "metrics"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["WEB_METRICS_DIR"] = str(metrics)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--no-control-socket",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--pythonpath",
            str(tmp_path / "app"),
            "niceapp:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:  # serving: its workers count into the directory its master made
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert len(list(metrics.glob(f"portal-metrics-{process.pid}-*"))) == 1
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert list(metrics.iterdir()) == []


def test_a_dead_gunicorn_s_metrics_directory_is_removed_by_the_next(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=10)
    orphan = tmp_path / f"portal-metrics-{dead.pid}-abc123"
    orphan.mkdir()
    (orphan / "counter_1.db").write_bytes(b"x")
    alive = tmp_path / f"portal-metrics-{os.getpid()}-def456"
    alive.mkdir()
    made = _conf()["metrics_directory"]({"WEB_METRICS_DIR": str(tmp_path)})  # type: ignore[operator]
    assert not orphan.exists()
    assert alive.exists()  # this process lives
    assert Path(made).parent == tmp_path and Path(made).name.startswith("portal-metrics-")
