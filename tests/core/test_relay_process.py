"""WORKER_RELAY_PROCESS: the relay in a child process, supervised by the worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client import REGISTRY

from services.core.bus import Names, RelayProcess, record_event
from services.core.config import BusSettings, ConfigError, ServiceSettings
from tests.conftest import Database
from tests.core.test_relay import bind_probe, drain, pending
from tests.support.waiting import wait_until


def test_the_relay_process_publishes_and_comes_back_after_being_killed(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    settings = ServiceSettings(service="test", database_url=db.url, bus=bus_settings)
    relay = RelayProcess(settings, db.url, connect_args=db.connect_args, names=names)
    labels = {"service": "test"}

    def published() -> float:
        """This process's count, which the child's is mirrored into before a scrape."""
        relay.mirror_metrics()
        return REGISTRY.get_sample_value("portal_outbox_published_total", labels) or 0.0

    before = published()
    # A spawned child imports everything afresh: allow for a busy machine.
    supervisor = threading.Thread(target=relay.run, daemon=True)
    supervisor.start()
    try:
        wait_until(lambda: relay.connected, 60, what="the relay process to connect")
        with db.sessions() as session, session.begin():
            first = record_event(session, "test.first", {}).id
        assert drain(amqp_channel, events, 1, timeout=30)[0][1]["id"] == first
        wait_until(lambda: pending(db) == 0, 30, what="the first row marked published")
        wait_until(lambda: published() == before + 1, 10, what="the child's count mirrored")
        assert REGISTRY.get_sample_value("portal_relay_connected", labels) == 1
        assert relay.process is not None
        killed = relay.process.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: relay.process is not None and relay.process.pid != killed, 30)
        with db.sessions() as session, session.begin():
            second = record_event(session, "test.second", {}).id
        assert drain(amqp_channel, events, 1, timeout=60)[0][1]["id"] == second
        wait_until(lambda: pending(db) == 0, 30, what="rows marked published")
        # The new child counts from zero; what the killed one counted is kept.
        wait_until(lambda: published() == before + 2, 10, what="the new child's count")
    finally:
        relay.stop()
        supervisor.join(60)
    assert not supervisor.is_alive(), "the relay process did not stop"
    assert not relay.connected
    assert published() == before + 2
    assert REGISTRY.get_sample_value("portal_relay_connected", labels) == 0
    assert relay.process is not None and relay.process.exitcode == 0


SUPERVISOR = textwrap.dedent(
    """
    import json, os
    from services.core.config import BusSettings, ConfigError, ServiceSettings
    from services.core.bus import RelayProcess
    bus = BusSettings(amqp_url=os.environ["T_AMQP"], namespace=os.environ["T_NAMESPACE"])
    url = os.environ["T_DB"]
    settings = ServiceSettings(service="test", database_url=url, bus=bus)
    RelayProcess(settings, url, connect_args=json.loads(os.environ["T_CONNECT"])).run()
    """
)


def spawned_children(pid: int) -> list[int]:
    """Children that multiprocessing spawned (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its new parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_the_relay_process_stops_when_its_worker_is_killed(
    db: Database, bus_settings: BusSettings
) -> None:
    """A worker killed outright leaves no relay behind to run beside its successor."""
    env = {
        **os.environ,
        "T_AMQP": bus_settings.amqp_url,
        "T_NAMESPACE": bus_settings.namespace,
        "T_DB": db.url,
        "T_CONNECT": json.dumps(db.connect_args),
    }
    worker = subprocess.Popen([sys.executable, "-c", SUPERVISOR], env=env)
    children: list[int] = []
    try:
        wait_until(lambda: spawned_children(worker.pid), 60, what="the relay process to start")
        children = spawned_children(worker.pid)
        assert len(children) == 1 and running(children[0])
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        wait_until(lambda: not running(children[0]), 15, what="the orphaned relay to stop")
    finally:
        worker.kill()
        worker.wait(10)
        for child in children:
            if running(child):
                os.kill(child, signal.SIGKILL)


def test_the_setting_reads_from_the_environment() -> None:
    sqlite, postgresql = "sqlite:///var/x.db", "postgresql://db/portal"
    auto = BusSettings.from_env({})
    assert auto.relay_apart(sqlite) and not auto.relay_apart(postgresql)
    assert BusSettings.from_env({"WORKER_RELAY_PROCESS": "auto"}) == auto
    always = BusSettings.from_env({"WORKER_RELAY_PROCESS": "true"})
    assert always.relay_apart(sqlite) and always.relay_apart(postgresql)
    never = BusSettings.from_env({"WORKER_RELAY_PROCESS": "false"})
    assert not never.relay_apart(sqlite) and not never.relay_apart(postgresql)
    with pytest.raises(ConfigError):
        BusSettings.from_env({"WORKER_RELAY_PROCESS": "sometimes"})
