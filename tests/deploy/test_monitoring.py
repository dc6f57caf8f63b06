"""deploy/monitoring: the scrape configuration and the alert rules, checked by promtool
(Debian's `prometheus` package; `.ci/run` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
COMPOSE = ROOT / "deploy" / "compose.yaml"
# What the issue asks ops to be alerted on, by the rule that does it.
ALERTS = {
    "PortalOutboxBacklogOld": "portal_outbox_oldest_age_seconds",
    "PortalDeadLettersPresent": "portal_dead_letters",
    "PortalRelayDisconnected": "portal_relay_connected",
    "PortalOtpDeliveryFailures": "notify.notification.failed",
    "PortalConsumerLag": "portal_consumer_lag_messages",
    "PortalErrorRate": "portal_gateway_requests_total",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_promtool_accepts_the_alert_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(MONITORING / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_scrape_configuration() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(MONITORING / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_is_there() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    for alert, reads in ALERTS.items():
        assert reads in exprs.get(alert, ""), alert


def test_the_scrape_configuration_covers_every_process_compose_runs() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    serving = {
        name
        for name in services
        if name == "gateway" or name.endswith(("-web", "-worker")) or name == "rabbitmq"
    }
    assert targets == serving
