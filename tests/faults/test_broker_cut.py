"""The broker is cut for 30 s under a steady load of submissions.

No HTTP submission fails (the outbox holds the events); once the broker is back every
submission is notified on every channel, none twice, within 10 s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from harness.portal import PortalDeployment, running_portal
from tests.faults.load import LOAD_ENV, SubmitLoad, enrol, wait_until_notified
from tests.support.proxy import FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
CUT_SECONDS = float(os.environ.get("FAULT_BROKER_CUT_SECONDS", "30"))
RATE = 2.0  # submissions per second


@pytest.fixture
def proxy(amqp_url: str) -> Iterator[FaultProxy]:
    broker = urlparse(amqp_url)
    proxy = FaultProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
    yield proxy
    proxy.close()


@pytest.fixture
def portal(
    tmp_path_factory: pytest.TempPathFactory, amqp_url: str, proxy: FaultProxy
) -> Iterator[PortalDeployment]:
    broker = urlparse(amqp_url)
    through_proxy = amqp_url.replace(f"{broker.hostname}:{broker.port}", f"127.0.0.1:{proxy.port}")
    with running_portal(
        tmp_path_factory.mktemp("broker-cut"), through_proxy, env=LOAD_ENV
    ) as deployment:
        yield deployment


def test_a_30_second_broker_cut_loses_and_doubles_nothing(
    portal: PortalDeployment, proxy: FaultProxy
) -> None:
    citizen = enrol(portal, drafts=int(RATE * (CUT_SECONDS + 6)))
    load = SubmitLoad(portal, citizen, RATE)
    load.start()
    time.sleep(3)
    proxy.cut()
    cut_at = time.monotonic()
    time.sleep(CUT_SECONDS)
    proxy.restore()
    restored_at = time.monotonic()
    load.join(30)
    submissions = load.stop()
    cut_wall = time.time() - (time.monotonic() - cut_at)
    during = [s for s in submissions if cut_wall <= s.at <= cut_wall + CUT_SECONDS]
    failed = [s for s in submissions if s.status != 200]
    wait_started = time.monotonic()
    result, drained = wait_until_notified(
        portal.environment()["NOTIFY_DATABASE_URL"], submissions, timeout=60
    )
    drained_after_restore = wait_started + drained - restored_at
    slowest = max((s.seconds for s in submissions), default=0.0)
    print(
        f"broker cut {CUT_SECONDS:.0f} s: {len(submissions)} submissions"
        f" ({len(during)} while cut), failed {len(failed)}, slowest call {slowest:.2f} s;"
        f" {result.line()}; drained {drained_after_restore:.1f} s after the broker came back"
    )
    assert not failed, failed[:3]
    assert not result.missing and result.duplicates == 0
    assert drained_after_restore < 10
