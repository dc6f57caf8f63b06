"""Workers under abuse, on one shared deployment (tests/faults/conftest.py).

* Each service's worker is killed with SIGKILL under load and started again: submissions
  (dossier's outbox → notify) and logins (identity's outbox → an OTP SMS) keep coming;
  afterwards every one is notified, none twice.
* A poison message in each consumer's queue lands in its DLQ and is replayed by the
  operator command (`portal dlq list|replay`), while good messages keep flowing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import bindparam, text

from harness.journey import PASSWORD, PortalClient
from harness.portal import ROOT, SERVICES, PortalDeployment
from services.core.bus import Names, connection_parameters
from services.core.config import BusSettings
from services.core.db import make_engine
from tests.faults.load import SubmitLoad, enrol, wait_until_notified

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
RATE = 3.0


class LoginLoad(threading.Thread):
    """Starts a login (password step: identity sends an OTP) every `interval` seconds."""

    def __init__(self, portal: PortalDeployment, username: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.client = PortalClient(portal.gateway_url)
        self.username = username
        self.interval = interval
        self.logins: list[str] = []
        self.failed = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            answer = self.client.post(
                "/identity/logins", json={"username": self.username, "password": PASSWORD}
            )
            if answer.status_code == 201:
                self.logins.append(answer.json()["id"])
            else:
                self.failed += 1

    def stop(self) -> list[str]:
        self._halt.set()
        self.join(30)
        return self.logins


def otp_notifications(notify_url: str, logins: list[str]) -> Counter[str]:
    engine = make_engine(notify_url)
    query = text(
        "SELECT reference FROM notification WHERE template = 'otp_login'"
        " AND status = 'delivered' AND reference IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        found = Counter(str(r.reference) for r in conn.execute(query, {"ids": logins or [""]}))
    engine.dispose()
    return found


def test_killed_workers_lose_and_double_nothing(portal: PortalDeployment) -> None:
    citizen = enrol(portal, drafts=int(RATE * 16))
    submits = SubmitLoad(portal, citizen, RATE)
    logins = LoginLoad(portal, citizen.person.citizen_id, interval=0.5)
    submits.start()
    logins.start()
    killed = []
    for service in SERVICES:
        time.sleep(1.5)
        portal.kill(f"{service}-worker")
        killed.append(time.monotonic())
        time.sleep(0.5)
        portal.start_worker(service)
    submits.join(30)
    submissions = submits.stop()
    login_ids = logins.stop()
    portal.wait_ready(30)
    notify_url = portal.environment()["NOTIFY_DATABASE_URL"]
    result, drained = wait_until_notified(notify_url, submissions, timeout=40)
    deadline = time.monotonic() + 20
    otps = otp_notifications(notify_url, login_ids)
    while len(otps) < len(login_ids) and time.monotonic() < deadline:
        time.sleep(0.3)
        otps = otp_notifications(notify_url, login_ids)
    failed = [s for s in submissions if s.status != 200]
    print(
        f"SIGKILL {len(killed)} workers ({', '.join(SERVICES)}): {result.line()};"
        f" failed submissions {len(failed)}; logins {len(login_ids)} (refused {logins.failed}),"
        f" OTP SMS delivered {len(otps)}, doubled {sum(1 for n in otps.values() if n > 1)};"
        f" drained {drained:.1f} s after the load"
    )
    assert not failed, failed[:3]
    assert not result.missing and result.duplicates == 0
    assert len(otps) == len(login_ids) and all(n == 1 for n in otps.values())


def consumer_queues(settings: BusSettings) -> dict[str, list[str]]:
    """The queues each service's worker consumes that exist in this deployment."""
    names = Names(settings.namespace)
    found: dict[str, list[str]] = {}
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        for service in SERVICES:
            for queue in (names.events_queue(service), names.commands_queue(service)):
                channel = conn.channel()
                try:
                    channel.queue_declare(queue, passive=True)
                except ChannelClosedByBroker:
                    continue
                found.setdefault(service, []).append(queue)
                channel.close()
    return found


def portal_cli(portal: PortalDeployment, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.core.cli", *args],
        cwd=ROOT,
        env=portal.environment(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def wait_in_dlq(portal: PortalDeployment, service: str, message_id: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        listed = portal_cli(portal, "dlq", "list", service)
        if listed.stdout.count(message_id) == 1:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{message_id} not in the {service} DLQ after {timeout} s")


def test_poison_goes_to_the_dlq_and_is_replayed(portal: PortalDeployment, amqp_url: str) -> None:
    settings = BusSettings(amqp_url=amqp_url, namespace=portal.namespace)
    queues = consumer_queues(settings)
    assert {"dossier", "notify"} <= set(queues), queues
    citizen = enrol(portal, index=1, drafts=6)
    figures = []
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        for service, service_queues in queues.items():
            for queue in service_queues:
                message_id = str(uuid.uuid4())
                channel.basic_publish(
                    "",
                    queue,
                    b'{"id": "not an envelope", "data": ',
                    pika.BasicProperties(
                        message_id=message_id,
                        type="dossier.submitted",
                        content_type="application/json",
                        delivery_mode=2,
                    ),
                )
                to_dlq = wait_in_dlq(portal, service, message_id, timeout=15)
                replay = portal_cli(portal, "dlq", "replay", service, "--id", message_id)
                assert replay.returncode == 0, replay.stderr
                # A poison message that fails again at once can be met again by the same
                # replay (it re-reads the DLQ it refills): counted, reported, not asserted.
                replays = replay.stdout.split()
                assert replays and set(replays) == {message_id}, replay.stdout
                # Still poison: it comes back to the DLQ, once, not doubled.
                back = wait_in_dlq(portal, service, message_id, timeout=15)
                figures.append(
                    f"{queue.removeprefix(portal.namespace)}: DLQ in {to_dlq:.1f} s,"
                    f" replayed {len(replays)}x by one command, back in {back:.1f} s"
                )
    # Good messages still flow past the poison.
    load = SubmitLoad(portal, citizen, rate=10)
    load.start()
    load.join(30)
    submissions = load.stop()
    result, _ = wait_until_notified(portal.environment()["NOTIFY_DATABASE_URL"], submissions, 20)
    print("poison:", "; ".join(figures), f"; afterwards {result.line()}")
    assert not result.missing and result.duplicates == 0
