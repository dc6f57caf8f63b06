"""`make run` under supervisord: copies of a process (`SCALE`), restarts with a growing
delay, and a real run whose every kind of process is SIGKILLed while dossiers are filed."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import socket
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
import requests
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from deploy import devrun
from gateway.config import DEFAULT_RATE_LIMITS
from harness.journey import PortalClient, bearer
from services.core.bus import Names
from services.core.config import BusSettings
from tests.deploy.test_devrun import Run, free_block, processes_with
from tests.faults.load import LOAD_ENV, Citizen, Submission, enrol, wait_until_notified

T = TypeVar("T")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (supervisord's unix socket lives in it)."""
    path = Path(tempfile.mkdtemp(prefix="devrun-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_scale_names_copies_of_procfile_processes_and_refuses_the_rest_in_one_line() -> None:
    processes = devrun.procfile()
    assert devrun.parse_scale("notify-worker=2, dossier-worker=3 gateway=2", processes) == {
        "notify-worker": 2,
        "dossier-worker": 3,
        "gateway": 2,
    }
    assert devrun.parse_scale("", processes) == {}
    for wrong, said in (
        ("notify=2", "process of the Procfile"),
        ("notify-worker", "process of the Procfile"),
        ("notify-worker=0", "copies are 1 to 9"),
        ("notify-worker=10", "copies are 1 to 9"),
        ("notify-worker=two", "copies are 1 to 9"),
        ("carrier=2", "one copy only"),
    ):
        with pytest.raises(devrun.DevRunError) as refused:
            devrun.parse_scale(wrong, processes)
        assert said in str(refused.value) and "\n" not in str(refused.value)


def test_worker_copies_get_their_own_health_port_and_web_copies_share_theirs() -> None:
    ports = devrun.Ports(18000)
    scale = {"notify-worker": 2, "catalog-web": 2}
    programs = {p.name: p for p in devrun.programs(devrun.procfile(), ports, scale)}
    assert [n for n in programs if n.startswith(("notify-worker", "catalog-web"))] == [
        "catalog-web.1",
        "catalog-web.2",
        "notify-worker.1",
        "notify-worker.2",
    ]
    assert programs["notify-worker.1"].environment == {"NOTIFY_WORKER_HEALTH_PORT": "18104"}
    assert programs["notify-worker.2"].environment == {"NOTIFY_WORKER_HEALTH_PORT": "18114"}
    # Copies of a web process bind one port together (SO_REUSEPORT); so does a master
    # started again while the workers of the killed one finish.
    assert all("--reuse-port" in programs[f"catalog-web.{n}"].command for n in (1, 2))
    assert programs["dossier-web.1"].command.startswith("gunicorn --reuse-port ")
    assert programs["identity-web.1"].command.count("--reuse-port") == 1
    assert ports.all(scale)["notify-worker.2"] == 18114
    assert "catalog-web.2" not in ports.all(scale)  # shares catalog-web's port


def test_a_worker_copys_port_in_use_is_named() -> None:
    ports = free_block()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.of("dossier-worker", 3)))
        holder.listen()
        devrun.check_ports_free(ports, {"dossier-worker": 2})
        with pytest.raises(devrun.DevRunError) as refused:
            devrun.check_ports_free(ports, {"dossier-worker": 3})
    assert f"{ports.of('dossier-worker', 3)} (dossier-worker.3)" in str(refused.value)


def test_supervisord_reads_the_configuration_and_restarts_every_program(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = devrun.RunDir(short_dir)
    programs = devrun.programs(devrun.procfile(), devrun.Ports(18000), {"notify-worker": 2})
    supervision = devrun.Supervision.from_env({"RUN_START_SECONDS": "4", "RUN_START_RETRIES": "7"})
    run.config.parent.mkdir(parents=True)
    run.logs.mkdir()
    run.config.write_text(devrun.supervisor_config(run, programs, supervision))
    monkeypatch.setenv("GATEWAY_PORT", "18000")
    options = ServerOptions()
    options.realize(["--configuration", str(run.config)])
    groups = {g.name: [p for p in g.process_configs] for g in options.process_group_configs}
    assert [p.name for p in groups["notify-worker"]] == ["notify-worker.1", "notify-worker.2"]
    assert set(groups) == set(devrun.procfile())
    every = [p for configs in groups.values() for p in configs]
    assert all(p.autorestart is RestartUnconditionally for p in every)  # any exit code
    assert {(p.startsecs, p.startretries) for p in every} == {(4, 7)}
    assert all(p.stopasgroup and p.killasgroup for p in every)
    gateway = groups["gateway"][0]
    argv = shlex.split(gateway.command)
    assert argv[:2] == ["/bin/sh", "-c"] and argv[2].startswith("exec gunicorn ")
    assert gateway.stopsignal == signal.SIGINT
    assert groups["notify-worker"][1].environment == {"NOTIFY_WORKER_HEALTH_PORT": "18114"}


def test_the_banner_says_where_each_process_writes_and_how_to_see_restarts() -> None:
    text = devrun.banner(devrun.Ports(8000))
    assert "var/log/<process>.<copy>.log" in text
    assert "supervisorctl -c var/supervisor/supervisord.conf status" in text


def test_bad_restart_settings_are_refused_in_one_line() -> None:
    with pytest.raises(devrun.DevRunError) as refused:
        devrun.Supervision.from_env({"RUN_START_SECONDS": "0"})
    assert "RUN_START_SECONDS" in str(refused.value)


def wait_for(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with_value = condition()
        if with_value:
            return with_value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_process_that_keeps_dying_waits_longer_each_time_while_the_others_run(
    short_dir: Path,
) -> None:
    run = devrun.RunDir(short_dir)
    processes = {"steady": "sleep 300", "crasher": "sh -c 'date +%s.%N; exit 3'"}
    programs = devrun.programs(processes, devrun.Ports(18000), {})
    supervision = devrun.Supervision(start_seconds=1, start_retries=3, stop_seconds=5)
    supervisor = devrun.start_supervisor(run, programs, supervision, os.environ)
    try:
        api = wait_for(lambda: _answers(run), 15, "supervisord answers")
        steady = wait_for(
            lambda: (i := api.getProcessInfo("steady:steady.1"))["statename"] == "RUNNING" and i,
            15,
            "steady runs",
        )
        wait_for(
            lambda: api.getProcessInfo("crasher:crasher.1")["statename"] == "FATAL",
            20,
            "supervisord gives up on the crasher",
        )
        starts = [float(t) for t in run.log(programs[1]).read_text().split()]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert len(starts) == 1 + supervision.start_retries, starts
        # 1 s, 2 s, 3 s (plus up to 1 s of supervisord's loop): the waits grow.
        assert gaps[0] >= 0.9, gaps
        assert all(later > earlier - 0.5 for earlier, later in itertools.pairwise(gaps)), gaps
        assert gaps[-1] >= gaps[0] + 1.0, gaps
        now = api.getProcessInfo("steady:steady.1")
        assert (now["statename"], now["pid"]) == ("RUNNING", steady["pid"])
    finally:
        assert devrun.stop(supervisor, run, supervision) == 0
    assert devrun.session_members(supervisor.pid) == []


def _answers(run: devrun.RunDir) -> Any:
    try:
        api = devrun.rpc(run)
        api.getState()
    except OSError:
        return None
    return api


def retried(call: Callable[[], T], counter: list[int], timeout: float = 60) -> T:
    """`call` again while a dead process makes it fail (no answer, 5xx, assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (AssertionError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            counter[0] += 1
            time.sleep(0.3)


class Filings(threading.Thread):
    """One citizen files dossiers through the gateway, one after another, until stopped:
    draft, fill, attach, submit; each call that fails while a process is dead is made again."""

    def __init__(self, gateway: str, citizen: Citizen) -> None:
        super().__init__(daemon=True)
        self.client = PortalClient(gateway, timeout=15)
        self.citizen = citizen
        self.submitted: list[Submission] = []
        self.retries = [0]
        self.error: BaseException | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.wait(0.2):
                self.file_one()
        except BaseException as error:
            self.error = error

    def file_one(self) -> None:
        token, agency, person = self.citizen.token, self.citizen.agency, self.citizen.person
        client = self.client
        dossier = retried(lambda: client.draft(token, agency), self.retries)
        retried(lambda: client.fill(token, dossier, person), self.retries)
        for code in ("to-khai-xac-nhan-tinh-trang-hon-nhan", "giay-to-tuy-than"):
            retried(lambda c=code: _created(client.attach(token, dossier, c)), self.retries)
        at = time.time()
        retried(lambda: self.submit(dossier), self.retries)
        self.submitted.append(Submission(dossier, at, 200, time.time() - at))

    def submit(self, dossier: str) -> None:
        answer = self.client.submit(self.citizen.token, dossier)
        if answer.status_code == 200:
            return
        # A retried submit whose first answer was lost finds the dossier filed already.
        found = self.client.get(f"/dossiers/{dossier}", headers=bearer(self.citizen.token))
        assert found.status_code == 200 and found.json()["status"] != "draft", answer.text

    def stop(self) -> list[Submission]:
        self.halt.set()
        self.join(90)
        assert self.error is None, repr(self.error)
        return self.submitted


def _created(answer: requests.Response) -> None:
    assert answer.status_code == 201, answer.text


class Probe(threading.Thread):
    """Asks the portal's front door (`/healthz`) every 0.2 s; keeps the failures' times."""

    def __init__(self, gateway: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{gateway}/healthz"
        self.asked = 0
        self.failed: list[float] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            self.asked += 1
            if not _ok(self.url):
                self.failed.append(time.monotonic())

    def longest_gap(self) -> float:
        """The longest run of consecutive failures, in seconds."""
        longest, start, last = 0.0, None, None
        for at in self.failed:
            if last is None or at - last > 0.5:
                start = at
            last = at
            longest = max(longest, at - (start or at) + 0.2)
        return longest


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def health_url(ports: devrun.Ports, process: str) -> str:
    port = ports.of(process)
    path = "/healthz" if process in ("gateway", "carrier") else "/readyz"
    return f"http://127.0.0.1:{port}{path}"


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_every_kind_of_process_killed_under_make_run_comes_back_and_nothing_is_lost(
    short_dir: Path, bus_settings: BusSettings, names: Names
) -> None:
    ports = free_block()
    marker_name, marker = "DEVRUN_TEST_MARKER", f"m{uuid.uuid4().hex}"
    env = {
        **os.environ,
        **LOAD_ENV,
        **{f"GATEWAY_RATE_LIMIT_{n.upper()}": "100000/minute" for n in DEFAULT_RATE_LIMITS},
        "AMQP_URL": bus_settings.amqp_url,
        "BUS_NAMESPACE": names.namespace,
        "CONSUMER_RETRY_DELAYS": "0.1,0.2",  # what the names fixture cleans up
        "RUN_START_SECONDS": "3",
        # A restarted worker's relay waits for the dead one's SQLite outbox lease.
        "OUTBOX_LEASE_SECONDS": "3",
        marker_name: marker,
    }
    run_dir = devrun.RunDir(short_dir / "var")
    gateway = ports.url("gateway")
    scale = "gateway=2 notify-worker=2"
    run = Run(ports, env, args=("--var-dir", str(run_dir.var_dir), "--scale", scale))
    try:
        run.wait_started()
        api = devrun.rpc(run_dir)
        states = {p["name"]: p["statename"] for p in api.getAllProcessInfo()}
        assert {"gateway.2", "notify-worker.2"} <= set(states), states
        assert devrun.worker_ready(ports.of("notify-worker", 2))

        portal = SimpleNamespace(gateway_url=gateway)
        tries = iter(range(5))  # a call refused on a starved machine: the next subscriber
        citizen = retried(lambda: enrol(portal, index=next(tries)), [0])  # type: ignore[arg-type]
        filings, probe = Filings(gateway, citizen), Probe(gateway)
        filings.start()
        probe.start()
        back: dict[str, float] = {}
        for kind in devrun.procfile():
            time.sleep(0.5)  # filings go on between the kills
            name = f"{kind}:{kind}.1"
            before = api.getProcessInfo(name)
            assert before["statename"] == "RUNNING", (kind, before["statename"], run.output())
            os.kill(before["pid"], signal.SIGKILL)
            killed = time.monotonic()

            def again(kind: str = kind, name: str = name, pid: int = before["pid"]) -> bool:
                info = api.getProcessInfo(name)
                return (
                    info["pid"] not in (0, pid)
                    and info["statename"] == "RUNNING"
                    and _ok(health_url(ports, kind))
                )

            wait_for(again, 60, f"{kind} restarted and answering")
            back[kind] = time.monotonic() - killed
        submitted = filings.stop()
        probe.halt.set()
        probe.join(5)

        notify_db = f"sqlite:///{run_dir.var_dir / 'notify.db'}"
        result, drained = wait_until_notified(notify_db, submitted, timeout=90)
        print(
            f"make run, SIGKILL of each kind of process ({scale}): back and answering after "
            + ", ".join(f"{k} {s:.1f} s" for k, s in back.items())
            + f"; portal /healthz failed {len(probe.failed)} of {probe.asked}"
            f" (longest gap {probe.longest_gap():.1f} s); {result.line()};"
            f" calls retried {filings.retries[0]}; drained {drained:.1f} s after the kills"
        )
        assert len(submitted) >= 10
        assert not result.missing and result.duplicates == 0, result.line()
        assert probe.longest_gap() < 3.0, probe.failed
        states = {p["name"]: p["statename"] for p in api.getAllProcessInfo()}
        assert set(states.values()) == {"RUNNING"}, states

        stopping = time.monotonic()
        assert run.stop(signal.SIGTERM) == 0, run.output()
        # Every program stops at once (SIGKILL after STOP_TIMEOUT), not one after another.
        assert time.monotonic() - stopping < devrun.STOP_TIMEOUT + 15, run.output()
        assert processes_with(marker) == []
    finally:
        print("".join(line for line in run.lines if " | " not in line))  # supervisord's lines
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
