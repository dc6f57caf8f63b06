"""/metrics of real processes: gunicorn with several workers answers for all of them, with
the exposition format's own Content-Type; a real Prometheus scrapes them; the Grafana
dashboard and the alert rules name only metrics these processes export.

The processes (the gateway and catalog's web under gunicorn with 2 workers each, notify's
worker) start once for the module, from the project folder as `make run` starts them (so
gunicorn reads gunicorn.conf.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pika
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import DEFAULT_RATE_LIMITS
from harness.portal import free_port, worker_options
from services.core.bus import Names, connection_parameters, delete_namespace
from services.core.config import BusSettings
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"
REQUESTS = 120


@dataclass
class Processes:
    gateway: str
    catalog: str
    worker: str


def _get(url: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait(url: str, processes: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer; see {log}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[Processes]:
    base = tmp_path_factory.mktemp("metrics")
    ports = {name: free_port() for name in ("gateway", "catalog", "worker", "nowhere")}
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "LOG_FORMAT": "text",
        "AMQP_URL": amqp_url,
        "BUS_NAMESPACE": f"m{os.getpid()}.",
        "BUS_METRICS_INTERVAL": "1",
        "CATALOG_DATABASE_URL": f"sqlite:///{base / 'catalog.db'}",
        "NOTIFY_DATABASE_URL": f"sqlite:///{base / 'notify.db'}",
        "NOTIFY_WORKER_HEALTH_PORT": str(ports["worker"]),
        # The gateway's calls go to catalog's web; the other services are not there.
        **{
            f"GATEWAY_{name}_URL": f"http://127.0.0.1:{ports['nowhere']}"
            for name in ("IDENTITY", "DOSSIERS", "NOTIFY")
        },
        "GATEWAY_CATALOG_URL": f"http://127.0.0.1:{ports['catalog']}",
        **{f"GATEWAY_RATE_LIMIT_{name.upper()}": "100000/minute" for name in DEFAULT_RATE_LIMITS},
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    namespace = env["BUS_NAMESPACE"]
    for service in ("catalog", "notify"):
        subprocess.run(
            [sys.executable, "-m", f"services.{service}.manage", "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    commands = {
        "gateway": [
            GUNICORN,
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{ports['gateway']}",
            "--workers",
            "2",
            *worker_options("gateway"),
            "gateway.app:create_app()",
        ],
        "catalog": [
            GUNICORN,
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{ports['catalog']}",
            "--workers",
            "2",
            "services.catalog.app:create_app()",
        ],
        "worker": [sys.executable, "-m", "services.notify.worker"],
    }
    started: list[subprocess.Popen[bytes]] = []
    logs = {name: base / f"{name}.log" for name in commands}
    try:
        for name, command in commands.items():
            with logs[name].open("wb") as out:
                started.append(
                    subprocess.Popen(
                        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        urls = Processes(
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            catalog=f"http://127.0.0.1:{ports['catalog']}",
            worker=f"http://127.0.0.1:{ports['worker']}",
        )
        _wait(f"{urls.gateway}/healthz", started, logs["gateway"])
        _wait(f"{urls.catalog}/healthz", started, logs["catalog"])
        _wait(f"{urls.worker}/readyz", started, logs["worker"])
        yield urls
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        settings = BusSettings(amqp_url=amqp_url, namespace=namespace)
        with pika.BlockingConnection(connection_parameters(settings)) as conn:
            delete_namespace(conn.channel(), Names(namespace), ["catalog", "notify"], settings)


def samples(body: bytes, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric (sample name, e.g. `..._total`), keyed by their labels."""
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def exported_names(body: bytes) -> set[str]:
    """Every series name the exposition declares (with a histogram's and counter's suffixes)."""
    names: set[str] = set()
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.add(name)
            if kind == "counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            if kind == "histogram":
                names.update(f"{name}{s}" for s in ("_bucket", "_count", "_sum", "_created"))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _hammer(urls: list[str]) -> None:
    """Many calls at once on fresh connections, so every gunicorn worker takes some."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda url: _get(url, timeout=10), urls))


def test_a_gateway_scrape_counts_every_worker_s_requests(processes: Processes) -> None:
    _hammer([f"{processes.gateway}/api/catalog/procedures?i={i}" for i in range(REQUESTS)])
    seen = []
    for _ in range(4):
        status, headers, body = _get(f"{processes.gateway}/metrics")
        assert status == 200
        assert headers["Content-Type"] == EXPOSITION
        seen.append(sum(samples(body, "portal_gateway_requests_total").values()))
    # Per worker, the four scrapes saw one worker's share each (e.g. 58, 62, 62, 58).
    assert seen == [REQUESTS] * 4


def test_a_service_web_scrape_counts_every_worker_s_requests(processes: Processes) -> None:
    _hammer([f"{processes.catalog}/healthz?i={i}" for i in range(REQUESTS)])
    seen = []
    for _ in range(4):
        status, headers, body = _get(f"{processes.catalog}/metrics")
        assert status == 200
        assert headers["Content-Type"] == EXPOSITION
        counted = samples(body, "portal_http_requests_total")
        seen.append(counted[(("method", "GET"), ("service", "catalog"), ("status", "200"))])
    # Each scrape is counted once it is answered: the next one sees it.
    first = seen[0]
    assert first >= REQUESTS
    assert seen == [first, first + 1, first + 2, first + 3]


def test_a_worker_exports_its_bus_backlog_with_the_exposition_content_type(
    processes: Processes,
) -> None:
    def bus_metrics() -> bytes:
        status, headers, body = _get(f"{processes.worker}/metrics")
        assert status == 200
        assert headers["Content-Type"] == EXPOSITION
        return body

    deadline = time.monotonic() + 15
    body = bus_metrics()
    while b"portal_dead_letters{" not in body and time.monotonic() < deadline:
        time.sleep(0.3)
        body = bus_metrics()
    assert samples(body, "portal_outbox_backlog") == {(("service", "notify"),): 0.0}
    assert samples(body, "portal_dead_letters") == {(("service", "notify"),): 0.0}
    lag = samples(body, "portal_consumer_lag_messages")
    assert list(lag) == [(("service", "notify"),)]
    consumers = samples(body, "portal_queue_consumers")
    assert list(consumers.values()) == [1.0]  # the worker's own consumer on notify.commands
    assert len(samples(body, "portal_unrouted_messages")) == 1


def _scraped_names(processes: Processes) -> set[str]:
    names: set[str] = set()
    for url in (processes.gateway, processes.catalog, processes.worker):
        names |= exported_names(_get(f"{url}/metrics")[2])
    return names


def _metric_names(expr: str) -> set[str]:
    """The portal's metric names a PromQL expression reads."""
    return set(re.findall(r"\b(portal_[a-z_]+)", expr))


def test_every_dashboard_panel_reads_metrics_the_processes_export(processes: Processes) -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exported = _scraped_names(processes)
    read: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = _metric_names(target["expr"])
            assert names or "up{" in target["expr"], (panel["title"], target["expr"])
            assert names <= exported, (panel["title"], sorted(names - exported))
            read |= names
    # The golden signals: traffic, errors, latency, saturation.
    assert {
        "portal_gateway_requests_total",
        "portal_http_request_seconds_bucket",
        "portal_outbox_oldest_age_seconds",
        "portal_consumer_lag_messages",
        "portal_dead_letters",
    } <= read


def test_every_alert_reads_metrics_the_processes_export(processes: Processes) -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))
    exported = _scraped_names(processes)
    for group in rules["groups"]:
        for rule in group["rules"]:
            missing = _metric_names(rule["expr"]) - exported
            assert not missing, (rule["alert"], sorted(missing))


def _prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        message = "Debian's prometheus package is not installed (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_a_real_prometheus_scrapes_the_gateway_web_and_worker(
    processes: Processes, tmp_path: Path
) -> None:
    binary = _prometheus()
    port = free_port()
    targets = {name: urllib.parse.urlparse(url).netloc for name, url in vars(processes).items()}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": name, "static_configs": [{"targets": [target]}]}
            for name, target in targets.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{port}/api/v1/query?query="

    def query(promql: str) -> list[dict[str, object]]:
        try:
            status, _, body = _get(api + urllib.parse.quote(promql), timeout=2)
        except OSError:
            return []
        return list(json.loads(body)["data"]["result"]) if status == 200 else []

    try:
        deadline = time.monotonic() + 30
        up: list[dict[str, object]] = []
        requests: list[dict[str, object]] = []
        backlog: list[dict[str, object]] = []
        while time.monotonic() < deadline and server.poll() is None:
            up = query("up == 1")
            requests = query("portal_gateway_requests_total")
            backlog = query("portal_outbox_backlog")
            if len(up) == len(targets) and requests and backlog:
                break
            time.sleep(0.5)
        assert server.poll() is None, log.read_text()[-3000:]
        assert {r["metric"]["job"] for r in up} == set(targets)  # type: ignore[index]
        assert requests, "no portal_gateway_requests_total in Prometheus"
        assert backlog, "no portal_outbox_backlog in Prometheus"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
