"""Operator commands and the worker process, as ops would use them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from services.core.bus import Names, record_event
from services.core.cli import main as portal
from services.core.config import BusSettings, ConfigError, ServiceSettings
from tests.conftest import Database
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_outbox_status_reports_pending_rows(
    db: Database,
    bus_settings: BusSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with db.sessions() as session, session.begin():
        record_event(session, "test.thing.created", {})
        record_event(session, "test.thing.created", {})
    url = db.url
    if db.kind == "postgresql":  # the per-test schema travels in the URL
        url += "?options=" + urllib.parse.quote(db.connect_args["options"])
    monkeypatch.setenv("NOTIFY_DATABASE_URL", url)
    assert portal(["outbox", "status", "notify"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 2
    assert status["oldest_pending_age_seconds"] >= 0


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ConfigError):
        BusSettings.from_env({"CONSUMER_PREFETCH": "many"})
    with pytest.raises(ConfigError):
        BusSettings.from_env({"CONSUMER_RETRY_DELAYS": "1,-5"})
    with pytest.raises(ConfigError):
        ServiceSettings.from_env("dossier", {"PORTAL_ROLE": "province"})
    settings = ServiceSettings.from_env(
        "dossier",
        {"PORTAL_ROLE": "province", "PORTAL_PROVINCE": "38", "CONSUMER_RETRY_DELAYS": "2,4"},
    )
    assert settings.province == "38"
    assert settings.bus.retry_delays == (2.0, 4.0)
    assert settings.database_url.endswith("var/dossier.db")


def test_a_service_worker_process_serves_health_and_stops_on_sigterm(
    tmp_path: Path, bus_settings: BusSettings, names: Names, free_port: int
) -> None:
    env = {
        **os.environ,
        "AMQP_URL": bus_settings.amqp_url,
        "BUS_NAMESPACE": bus_settings.namespace,
        "NOTIFY_DATABASE_URL": f"sqlite:///{tmp_path}/notify.db",
        "NOTIFY_WORKER_HEALTH_PORT": str(free_port),
        "LOG_FORMAT": "text",
    }
    subprocess.run(
        [sys.executable, "-m", "services.notify.manage", "migrate"], cwd=ROOT, env=env, check=True
    )
    worker = subprocess.Popen([sys.executable, "-m", "services.notify.worker"], cwd=ROOT, env=env)
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/readyz", timeout=1) as r:
                    return r.status == 200 and json.load(r)["relay"] is True
            except OSError:
                return False

        wait_until(ready, timeout=30, what="the worker to be ready")
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=2) as r:
            assert b"portal_relay_connected" in r.read()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
