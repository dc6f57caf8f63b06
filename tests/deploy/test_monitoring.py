"""deploy/monitoring: the scrape configuration and the alert rules, checked by promtool
(Debian's `prometheus` package; `.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
COMPOSE = ROOT / "deploy" / "compose.yaml"
BROKER_METRICS_PORT = 15692  # rabbitmq_prometheus
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
        [promtool(), "check", "rules", str(MONITORING / "alerts.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_scrape_configuration() -> None:
    result = subprocess.run(
        [promtool(), "check", "config", str(MONITORING / "prometheus.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_is_there() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    for alert, reads in ALERTS.items():
        assert reads in exprs.get(alert, ""), alert


def test_the_scrape_configuration_covers_every_process_compose_runs() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yaml").read_text(encoding="utf-8"))
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


def test_the_broker_serves_its_own_prometheus_metrics() -> None:
    """rabbitmq_prometheus is enabled where the broker is ours (enabled_plugins, .ci/run)."""
    plugins = (ROOT / "deploy" / "rabbitmq" / "enabled_plugins").read_text(encoding="utf-8")
    assert "rabbitmq_prometheus" in plugins
    management = urllib.parse.urlparse(
        os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672")
    )
    url = f"http://{management.hostname}:{BROKER_METRICS_PORT}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = answer.read().decode()
    except OSError as exc:
        message = f"the broker's Prometheus endpoint {url} does not answer: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    assert "rabbitmq_queue_messages_ready" in body
