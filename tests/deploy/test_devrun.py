"""`make run` (deploy/devrun.py): its checks, its banner, and a real run stopped by SIGTERM."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests

from deploy import devrun
from services.core.bus import Names
from services.core.config import BusSettings

ROOT = Path(__file__).resolve().parents[2]


def free_block() -> devrun.Ports:
    """A first port whose whole block of the portal's ports is free."""
    for _ in range(50):
        ports = devrun.Ports(random.randrange(20000, 40000, 200))
        if all(devrun.port_is_free(p) for p in ports.all().values()):
            return ports
    raise AssertionError("no free block of ports")


def test_a_port_in_use_stops_the_start_and_names_the_process() -> None:
    ports = free_block()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.of("notify-web")))
        holder.listen()
        with pytest.raises(devrun.DevRunError) as refused:
            devrun.check_ports_free(ports)
    assert f"{ports.of('notify-web')} (notify-web)" in str(refused.value)
    assert "--first-port" in str(refused.value)
    devrun.check_ports_free(ports)  # free again


def test_no_broker_and_no_rabbitmq_server_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, free_port: int
) -> None:
    monkeypatch.setattr(devrun.shutil, "which", lambda _name: None)
    with pytest.raises(devrun.DevRunError) as refused:
        devrun.ensure_broker(f"amqp://guest:guest@127.0.0.1:{free_port}/")
    message = str(refused.value)
    assert "\n" not in message
    assert "apt-get install rabbitmq-server" in message
    assert "deploy/compose.yaml" in message


def test_the_banner_gives_the_portal_the_accounts_and_the_otps() -> None:
    text = devrun.banner(devrun.Ports(8000))
    assert "http://127.0.0.1:8000/" in text
    assert "http://127.0.0.1:8000/#/hop-thu-thu-nghiem" in text
    assert "http://127.0.0.1:8000/api/notify/dev/outbox?to=0912345678" in text
    assert "038085001234" in text  # a demo citizen
    assert "quantri / QuanTri#2026" in text  # the demo admin


def test_the_environment_follows_the_ports_and_keeps_what_the_caller_set() -> None:
    env = devrun.environment(devrun.Ports(18000), {"AMQP_URL": "amqp://x/", "PATH": "/bin"})
    assert env["AMQP_URL"] == "amqp://x/"
    assert env["GATEWAY_PORT"] == "18000"
    assert env["GATEWAY_DOSSIERS_URL"] == "http://127.0.0.1:18003"
    assert env["NOTIFY_WORKER_HEALTH_PORT"] == "18104"
    assert env["TOKEN_ISSUER"] == "http://127.0.0.1:18000/api/identity"


def processes_with(marker: str) -> list[int]:
    """Pids of every process whose environment carries `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.append(int(entry.name))
    return found


class Run:
    """One `python -m deploy.devrun` in its own session, its output collected."""

    def __init__(
        self,
        ports: devrun.Ports,
        env: dict[str, str],
        *,
        sigint_ignored: bool = False,
        args: tuple[str, ...] = (),
    ) -> None:
        self.lines: list[str] = []
        self.started = threading.Event()

        def ignore_sigint() -> None:  # as a shell does for a command started with `&`
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploy.devrun", "--first-port", str(ports.first), *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=ignore_sigint if sigint_ignored else None,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace"))
            if "The portal is running" in self.lines[-1]:
                self.started.set()

    def output(self) -> str:
        return "".join(self.lines[-80:])

    def wait_started(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not self.started.is_set():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.5)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=90)


def procedures_found(gateway: str) -> int:
    found = requests.get(f"{gateway}/api/catalog/procedures", params={"q": "khai sinh"}, timeout=10)
    assert found.status_code == 200
    return int(found.json()["total"])


@pytest.mark.slow
def test_a_run_serves_the_portal_stops_cleanly_and_a_second_run_adds_nothing(
    tmp_path: Path, bus_settings: BusSettings, names: Names
) -> None:
    ports = free_block()
    marker_name, marker = "DEVRUN_TEST_MARKER", f"m{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "AMQP_URL": bus_settings.amqp_url,
        "BUS_NAMESPACE": names.namespace,
        "CONSUMER_RETRY_DELAYS": "0.1,0.2",  # what the names fixture cleans up
        "DOSSIER_BLOB_DIR": str(tmp_path / "blobs"),
        **{f"{s.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{s}.db" for s in devrun.SERVICES},
        marker_name: marker,
    }
    gateway = ports.url("gateway")
    runs: list[Run] = []
    try:
        var = ("--var-dir", str(tmp_path / "var"))
        runs.append(first := Run(ports, env, args=var))
        first.wait_started()
        with urllib.request.urlopen(f"{gateway}/healthz", timeout=5) as answer:
            assert answer.status == 200
        total = procedures_found(gateway)
        assert total > 0
        assert len(processes_with(marker)) >= 12  # devrun, supervisord and the ten processes
        assert first.stop(signal.SIGTERM) == 0, first.output()
        assert processes_with(marker) == []
        assert all(devrun.port_is_free(p) for p in ports.all().values())

        runs.append(second := Run(ports, env, sigint_ignored=True, args=var))
        second.wait_started()
        assert procedures_found(gateway) == total
        assert second.stop(signal.SIGINT) == 0, second.output()  # Ctrl-C
        assert processes_with(marker) == []
    finally:
        for run in runs:
            if run.process.poll() is None:
                os.killpg(run.process.pid, signal.SIGKILL)
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
