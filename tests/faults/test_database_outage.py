"""PostgreSQL unreachable under load: fast 503 problem+json while down, recovery within 5 s.

Every service of the portal keeps its database on PostgreSQL through a TCP FaultProxy;
cutting the proxy is the database going away (every connection dropped, new ones
refused), restoring it is the database coming back.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
import requests
from sqlalchemy import create_engine, text

from harness.journey import bearer
from harness.portal import SERVICES, PortalDeployment, running_portal
from tests.faults.load import LOAD_ENV, SubmitLoad, enrol, wait_until_notified
from tests.support.proxy import FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
OUTAGE_SECONDS = 6.0


@pytest.fixture
def databases(postgres_url: str) -> Iterator[tuple[FaultProxy, dict[str, str]]]:
    server = urlparse(postgres_url.replace("+psycopg", ""))
    proxy = FaultProxy(server.hostname or "127.0.0.1", server.port or 5432)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    names = {s: f"outage_{uuid.uuid4().hex[:8]}_{s}" for s in SERVICES}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    user = f"{server.username or 'postgres'}" + (f":{server.password}" if server.password else "")
    urls = {
        s: f"postgresql+psycopg://{user}@127.0.0.1:{proxy.port}/{name}" for s, name in names.items()
    }
    yield proxy, urls
    proxy.close()
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def portal(
    tmp_path_factory: pytest.TempPathFactory,
    amqp_url: str,
    databases: tuple[FaultProxy, dict[str, str]],
) -> Iterator[PortalDeployment]:
    _proxy, urls = databases
    with running_portal(
        tmp_path_factory.mktemp("db-outage"), amqp_url, database_urls=urls, env=LOAD_ENV
    ) as deployment:
        yield deployment


@dataclass
class Probe:
    at: float
    status: int
    seconds: float
    problem: bool


class Prober(threading.Thread):
    """Calls one read route of a service every 100 ms, recording what it answers."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.probes: list[Probe] = []
        self._halt = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self._halt.wait(0.1):
            t0 = time.perf_counter()
            try:
                answer = session.get(self.url, headers=self.headers, timeout=10)
                status = answer.status_code
                problem = answer.headers.get("Content-Type", "").startswith(
                    "application/problem+json"
                )
            except requests.RequestException:
                status, problem = 0, False
            self.probes.append(Probe(time.monotonic(), status, time.perf_counter() - t0, problem))

    def stop(self) -> list[Probe]:
        self._halt.set()
        self.join(30)
        return self.probes


def test_a_database_outage_is_a_fast_503_and_heals_itself(
    portal: PortalDeployment, databases: tuple[FaultProxy, dict[str, str]]
) -> None:
    proxy, urls = databases
    citizen = enrol(portal, drafts=30)
    auth = bearer(citizen.token)
    routes = {
        "identity": "/api/identity/me",
        "catalog": "/api/catalog/procedures?q=khai%20sinh",
        "dossier": "/api/dossiers",
        "notify": "/api/notify/inbox",
    }
    probers = {s: Prober(f"{portal.gateway_url}{path}", auth) for s, path in routes.items()}
    for prober in probers.values():
        prober.start()
    load = SubmitLoad(portal, citizen, rate=3.0)
    load.start()
    time.sleep(2)
    proxy.cut()
    down_at = time.monotonic()
    time.sleep(OUTAGE_SECONDS)
    proxy.restore()
    up_at = time.monotonic()
    time.sleep(6)
    submissions = load.stop()
    report = []
    failures = []
    for service, prober in probers.items():
        probes = prober.stop()
        down = [p for p in probes if down_at + 0.5 <= p.at - p.seconds and p.at <= up_at]
        after = [p for p in probes if p.at - p.seconds >= up_at and p.status == 200]
        recovered = (after[0].at - up_at) if after else float("inf")
        statuses = sorted({p.status for p in down})
        slowest = max((p.seconds for p in down), default=0.0)
        report.append(
            f"{service}: while down {len(down)} calls {statuses} slowest {slowest:.2f} s,"
            f" recovered {recovered:.2f} s after"
        )
        if any(p.status != 503 or not p.problem for p in down) or slowest > 3:
            failures.append(f"{service} while down: {statuses}, slowest {slowest:.2f} s")
        if recovered > 5:
            failures.append(f"{service} recovered after {recovered:.1f} s")
    refused = [s for s in submissions if s.status == 503]
    odd = [s for s in submissions if s.status not in (200, 503)]
    result, _ = wait_until_notified(urls["notify"], submissions, timeout=30)
    print(
        f"database outage {OUTAGE_SECONDS:.0f} s: " + "; ".join(report) + f"; submissions"
        f" {len(submissions)} ({len(refused)} refused 503, {len(odd)} other); {result.line()}"
    )
    assert not failures, failures
    assert not odd, [(s.status, s.body) for s in odd[:3]]
    assert not result.missing and result.duplicates == 0
