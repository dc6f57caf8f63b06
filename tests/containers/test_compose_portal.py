"""deploy/compose.yaml started for real on the images `make images` builds.

One compose project for the module (started once, torn down even on failure):

* a citizen's journey through the published gateway port: register and log in (OTP
  from the dev outbox), file, an officer returns a result, the citizen is notified;
* every worker and web container crashed in turn (SIGKILL) under a steady load of
  submissions: the restart policy brings each back; nothing lost, nothing doubled;
* scaled out (3 notify workers, 2 dossier workers): nothing handled twice, per-subject
  order kept, the drain rate with 1 and with 3 notify workers;
* PostgreSQL stopped and started under load: 503 while it is down, answers again within
  5 s of it coming back, nothing lost.

Each test leaves the project as it found it (one of each process, all healthy), so
they do not depend on their order. Figures go to var/containers-figures.txt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import requests

from harness.journey import PortalClient, Subscriber, bearer, subscribers
from tests.containers.conftest import record_figure
from tests.containers.stack import (
    WEBS,
    WORKERS,
    Stack,
    Submitter,
    prepare_drafts,
    quoted,
    wait_notified,
)

pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]
LONG_RUNNING = ("rabbitmq", "postgres", "redis", "carrier", *WORKERS, *WEBS)
# PostgreSQL back → every service answers again within this (the figure).
RECOVERY_SECONDS = 5.0


@dataclass
class Citizen:
    person: Subscriber
    token: str
    agency: str
    officer: dict[str, str]


@pytest.fixture(scope="module")
def stack(images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    missing = {"RABBITMQ_IMAGE", "POSTGRES_IMAGE", "REDIS_IMAGE", "PORTAL_IMAGE"} - set(images)
    # No registry here: an image compose would pull instead of one built from Debian's.
    assert not missing, f"no deploy/images/<name>/Dockerfile builds {sorted(missing)}"
    stack = Stack(tmp_path_factory.mktemp("compose"), images)
    stack.prepare()
    stack.down()  # what an interrupted run may have left
    started = time.monotonic()
    try:
        stack.up()
        healthy = stack.wait_healthy(LONG_RUNNING, timeout=180)
        up = time.monotonic() - started
        demo_started = time.monotonic()
        stack.compose("--profile", "demo", "run", "--rm", "demo-data", timeout=300)
        record_figure(
            f"compose: up -d and healthy in {up:.1f} s (last {healthy:.1f} s waiting for"
            f" health), demo data {time.monotonic() - demo_started:.1f} s"
        )
        yield stack
    finally:
        log = Path(stack.workdir) / "compose.log"
        log.write_text(stack.logs(tail=300), encoding="utf-8")
        stopped = time.monotonic()
        stack.down()
        record_figure(f"compose: down in {time.monotonic() - stopped:.1f} s (logs: {log})")


@pytest.fixture(scope="module")
def citizen(stack: Stack) -> Citizen:
    """A registered, logged-in citizen for the load tests, and the officer of their commune."""
    client = PortalClient(stack.gateway_url, timeout=30)
    person = subscribers()[1]
    client.register(person)
    token = str(client.login(person.citizen_id, person.phone)["access_token"])
    agency = client.commune_with_officer()
    return Citizen(person, token, agency, bearer(client.officer_token(agency)))


def test_a_citizens_journey_through_the_published_gateway(stack: Stack) -> None:
    started = time.monotonic()
    client = PortalClient(stack.gateway_url, timeout=30)
    assert requests.get(f"{stack.gateway_url}/readyz", timeout=10).status_code == 200
    person = subscribers()[0]
    account_id = client.register(person)
    token = str(client.login(person.citizen_id, person.phone)["access_token"])
    agency = client.commune_with_officer()
    dossier = client.prepared_draft(token, agency, person)
    submitted = client.submit(token, dossier)
    assert submitted.status_code == 200, submitted.text
    officer = bearer(client.officer_token(agency))
    received = client.post(f"/dossiers/{dossier}/receive", headers=officer)
    assert received.status_code == 200, received.text
    returned = client.post(
        f"/dossiers/{dossier}/return-result", json={"note": "Đã có kết quả"}, headers=officer
    )
    assert returned.status_code == 200, returned.text
    deadline = time.monotonic() + 30
    items: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        inbox = client.get("/notify/inbox", headers=bearer(token))
        assert inbox.status_code == 200, inbox.text
        items = inbox.json()["items"]
        if any(i["template"] == "dossier_result_returned" for i in items):
            break
        time.sleep(0.5)
    templates = [str(i["template"]) for i in items if i["reference"] == dossier]
    assert "dossier_result_returned" in templates, items
    # The same news by SMS to the citizen's phone (the dev outbox).
    sms = [m for m in client.outbox(person.phone) if m["channel"] == "sms"]
    assert len(sms) >= 3, sms  # two OTPs, then the dossier's news
    record_figure(
        f"journey: account {account_id[:8]}…, dossier filed, result returned and in the"
        f" inbox ({', '.join(templates)}) in {time.monotonic() - started:.1f} s"
    )


def test_crashed_containers_come_back_and_nothing_is_lost_or_doubled(
    stack: Stack, citizen: Citizen
) -> None:
    rate = 1.0
    drafts = prepare_drafts(stack, citizen.token, citizen.agency, citizen.person, 40)
    refill_client = PortalClient(stack.gateway_url, timeout=20)

    def refill() -> str:
        return refill_client.prepared_draft(citizen.token, citizen.agency, citizen.person)

    load = Submitter(stack, citizen.token, drafts, rate, refill=refill)
    load.start()
    back_in: dict[str, float] = {}
    for service in (*WORKERS, *WEBS):
        time.sleep(1.5)
        assert load.is_alive(), "the load stopped before every container was crashed"
        back_in[service] = stack.crash_and_wait(service)
    time.sleep(2)
    load.stop()
    result, drained = wait_notified(stack, load.confirmed, timeout=90)
    record_figure(
        f"crashes: {len(back_in)} containers SIGKILLed in turn, healthy again after "
        + ", ".join(f"{s} {t:.1f} s" for s, t in back_in.items())
        + f"; {result.line()}; never confirmed {len(load.unconfirmed)};"
        f" retried submits {load.retries} ({dict(load.refusals)}); drafts made under load"
        f" {load.refilled}; drained {drained:.1f} s after the load"
    )
    assert not load.unconfirmed, load.unconfirmed[:3]
    assert len(load.confirmed) >= 30
    assert not result.unsubmitted
    assert not result.missing and result.duplicates == 0


def _completed_span(stack: Stack, dossiers: list[str]) -> tuple[int, float]:
    """(notifications completed, seconds from the first to the last completion)."""
    (row,) = stack.psql(
        "notify",
        "SELECT count(*), EXTRACT(EPOCH FROM max(completed_at) - min(completed_at))"
        f" FROM notification WHERE reference IN ({quoted(dossiers)}) AND status = 'delivered'",
    )
    return int(row[0]), float(row[1] or 0.0)


def _publish_order_breaks(stack: Stack, dossiers: list[str]) -> int:
    """Rows of a subject published before an earlier row (by seq) of the same subject."""
    rows = stack.psql(
        "dossier",
        "SELECT subject, seq, published_at FROM outbox"
        f" WHERE subject IN ({quoted(dossiers)}) ORDER BY subject, seq",
    )
    breaks = 0
    last: dict[str, str] = {}
    for subject, _seq, published in rows:
        if subject in last and published < last[subject]:
            breaks += 1
        last[subject] = published
    return breaks


def _handling_inversions(stack: Stack, dossiers: list[str]) -> int:
    """Dossiers whose 'received' notification was made before their 'submitted' one."""
    rows = stack.psql(
        "notify",
        "SELECT reference, template, min(created_at) FROM notification"
        f" WHERE reference IN ({quoted(dossiers)}) AND channel = 'inbox'"
        " GROUP BY reference, template",
    )
    made: dict[str, dict[str, datetime]] = {}
    for reference, template, created in rows:
        made.setdefault(reference, {})[template] = datetime.fromisoformat(created)
    return sum(
        1
        for times in made.values()
        if {"dossier_submitted", "dossier_received"} <= set(times)
        and times["dossier_received"] < times["dossier_submitted"]
    )


def test_scaled_out_workers_share_the_queues_once_and_in_order(
    stack: Stack, citizen: Citizen
) -> None:
    per_round = 40
    figures = []
    try:
        for notify_workers in (1, 3):
            drafts = prepare_drafts(stack, citizen.token, citizen.agency, citizen.person, per_round)
            # Notify stopped: its commands wait on the queue, then K workers drain them.
            stack.up("--no-deps", "--scale", "notify-worker=0", "notify-worker")
            stack.up("--no-deps", "--scale", "dossier-worker=2", "dossier-worker")
            client = PortalClient(stack.gateway_url, timeout=30)

            def file(dossier: str, client: PortalClient = client) -> None:
                assert client.submit(citizen.token, dossier).status_code == 200
                answer = client.post(f"/dossiers/{dossier}/receive", headers=citizen.officer)
                assert answer.status_code == 200, answer.text

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(file, drafts))
            stack.up("--no-deps", "--scale", f"notify-worker={notify_workers}", "notify-worker")
            assert len(stack.containers("notify-worker")) == notify_workers
            result, _ = wait_notified(stack, drafts, timeout=120)
            received, _ = wait_notified(stack, drafts, timeout=60, template="dossier_received")
            count, span = _completed_span(stack, drafts)
            breaks = _publish_order_breaks(stack, drafts)
            inversions = _handling_inversions(stack, drafts)
            figures.append(
                f"{notify_workers} notify worker(s): {count} notifications delivered in"
                f" {span:.1f} s = {count / max(span, 0.001):.0f}/s; {result.line()};"
                f" received notified {received.notified}/{per_round},"
                f" doubled {received.duplicates}; publish-order breaks {breaks};"
                f" received-before-submitted in notify {inversions}"
            )
            assert not result.missing and result.duplicates == 0
            assert not received.missing and received.duplicates == 0
            assert breaks == 0
    finally:
        stack.up(
            "--no-deps",
            "--scale",
            "notify-worker=1",
            "--scale",
            "dossier-worker=1",
            "notify-worker",
            "dossier-worker",
        )
        stack.wait_healthy(["notify-worker", "dossier-worker"], timeout=120)
    record_figure("scale-out (2 dossier workers): " + " | ".join(figures))


def _probes(stack: Stack, citizen: Citizen, dossier: str) -> dict[str, int]:
    """One database-backed call to each service through the gateway: its status."""
    client = PortalClient(stack.gateway_url, timeout=10)
    calls: dict[str, Callable[[], requests.Response]] = {
        "identity": lambda: client.post(
            "/identity/logins", json={"username": citizen.person.citizen_id, "password": "x"}
        ),
        "catalog": lambda: client.get("/catalog/procedures/1.004873", params={"province": "38"}),
        "dossier": lambda: client.get(f"/dossiers/{dossier}", headers=bearer(citizen.token)),
        # Its dev outbox: notify's own database only. (The inbox needs identity's keys
        # too, which a worker that never fetched them cannot get while identity is down.)
        "notify": lambda: client.get("/notify/dev/outbox", params={"to": citizen.person.phone}),
    }
    statuses: dict[str, int] = {}
    for name, call in calls.items():
        try:
            statuses[name] = call().status_code
        except requests.RequestException:
            statuses[name] = 0
    return statuses


def test_postgres_restart_under_load_503_then_recovery(stack: Stack, citizen: Citizen) -> None:
    drafts = prepare_drafts(stack, citizen.token, citizen.agency, citizen.person, 30)
    (probe_dossier,) = prepare_drafts(stack, citizen.token, citizen.agency, citizen.person, 1)
    healthy = _probes(stack, citizen, probe_dossier)
    # A wrong password is refused (401), never a database error.
    assert all(s < 500 for s in healthy.values()), healthy
    load = Submitter(stack, citizen.token, drafts, rate=2.0)
    load.start()
    time.sleep(3)
    stopped = time.monotonic()
    stack.compose("stop", "--timeout", "10", "postgres", timeout=60)
    stop_took = time.monotonic() - stopped
    time.sleep(1)
    down = _probes(stack, citizen, probe_dossier)
    inbox = PortalClient(stack.gateway_url, timeout=10).get(
        "/notify/inbox", headers=bearer(citizen.token)
    )
    time.sleep(3)
    down_later = _probes(stack, citizen, probe_dossier)
    stack.compose("start", "postgres", timeout=60)
    (pg,) = stack.containers("postgres")
    started = time.monotonic()
    while not stack.postgres_ready(pg):
        assert time.monotonic() - started < 60, "postgres did not come back"
        time.sleep(0.1)
    ready_at = time.monotonic()
    answers: dict[str, float] = {}
    while len(answers) < len(healthy) and time.monotonic() - ready_at < 30:
        for name, status in _probes(stack, citizen, probe_dossier).items():
            if status == healthy[name] and name not in answers:
                answers[name] = time.monotonic() - ready_at
        time.sleep(0.1)
    load.join(60)
    load.stop()
    result, drained = wait_notified(stack, load.confirmed, timeout=90)
    record_figure(
        f"postgres stop/start: stop took {stop_took:.1f} s; while down {down} then {down_later}"
        f" (notify inbox with a token: {inbox.status_code} {inbox.text[:120]});"
        f" answering again after PostgreSQL was ready: "
        + ", ".join(f"{n} {t:.2f} s" for n, t in answers.items())
        + f"; {result.line()}; never confirmed {len(load.unconfirmed)};"
        f" retried submits {load.retries} ({dict(load.refusals)}); drained {drained:.1f} s"
    )
    assert set(down.values()) == {503} and set(down_later.values()) == {503}, (down, down_later)
    assert set(answers) == set(healthy), answers
    assert max(answers.values()) <= RECOVERY_SECONDS, answers
    assert not load.unconfirmed, load.unconfirmed[:3]
    assert not result.unsubmitted
    assert not result.missing and result.duplicates == 0
    # The workers are ready again too (relays and consumers reconnected).
    stack.wait_healthy(WORKERS, timeout=60)
