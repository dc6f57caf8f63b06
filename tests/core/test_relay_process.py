"""WORKER_RELAY_PROCESS: the relay in a child process, supervised by the worker."""

from __future__ import annotations

import os
import signal
import threading

from pika.adapters.blocking_connection import BlockingChannel

from services.core.bus import record_event
from services.core.bus.names import Names
from services.core.bus.testing import wait_until
from services.core.config import BusSettings, ServiceSettings
from services.core.relay_process import RelayProcess
from tests.conftest import Database
from tests.core.test_relay import bind_probe, drain, pending


def test_the_relay_process_publishes_and_comes_back_after_being_killed(
    db: Database, bus_settings: BusSettings, names: Names, amqp_channel: BlockingChannel
) -> None:
    events = bind_probe(amqp_channel, names, names.events_exchange, "test.#")
    settings = ServiceSettings(service="test", database_url=db.url, bus=bus_settings)
    relay = RelayProcess(settings, db.url, connect_args=db.connect_args, names=names)
    # A spawned child imports everything afresh: allow for a busy machine.
    supervisor = threading.Thread(target=relay.run, daemon=True)
    supervisor.start()
    try:
        wait_until(lambda: relay.connected, 60, what="the relay process to connect")
        with db.sessions() as session, session.begin():
            first = record_event(session, "test.first", {}).id
        assert drain(amqp_channel, events, 1, timeout=30)[0][1]["id"] == first
        wait_until(lambda: pending(db) == 0, 30, what="the first row marked published")
        assert relay.process is not None
        killed = relay.process.pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: relay.process is not None and relay.process.pid != killed, 30)
        with db.sessions() as session, session.begin():
            second = record_event(session, "test.second", {}).id
        assert drain(amqp_channel, events, 1, timeout=60)[0][1]["id"] == second
        wait_until(lambda: pending(db) == 0, 30, what="rows marked published")
    finally:
        relay.stop()
        supervisor.join(60)
    assert not supervisor.is_alive(), "the relay process did not stop"
    assert not relay.connected
    assert relay.process is not None and relay.process.exitcode == 0


def test_the_setting_reads_from_the_environment() -> None:
    assert BusSettings.from_env({"WORKER_RELAY_PROCESS": "true"}).relay_process
    assert not BusSettings.from_env({}).relay_process
