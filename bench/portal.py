"""Whole-portal benchmark: `python -m bench.portal [--db sqlite|postgresql|both]`.

Starts a whole deployment (harness/portal.py: every service's web and worker,
the gateway, the carrier simulator) and drives it through the gateway as simulated
citizens and officers do:
  * journeys: register, log in (SMS OTP read from the dev outbox), search the catalogue;
  * full filings per second: create, fill, attach 2 files, submit;
  * submits per second on prepared drafts, sustained for --seconds;
  * officers receiving the dossiers;
and reports p50/p99 per call, the lag from each submission to the delivery of its
three notifications (SMS, e-mail, inbox), counted from when the client sent the call
and, beside it, from when the dossier service began it (the dossier's `submitted_at`,
which leaves out the call's wait for a saturated web), and the outbox and queue
backlogs over time.
A PNG plot of throughput, lag and backlogs is written beside the JSON results under
var/bench/. Bounded: each phase stops after --seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pika
import requests
from sqlalchemy import create_engine, text

from harness.journey import PortalClient, bearer, subscribers
from harness.portal import SERVICES, PortalDeployment, running_portal
from services.core.bus import Names, connection_parameters
from services.core.config import DEFAULT_AMQP_URL, BusSettings
from services.core.db import make_engine

OUT = Path(__file__).resolve().parents[1] / "var" / "bench"
POSTGRES = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Simulated citizens file many dossiers each: lift the per-phone SMS and OTP caps.
ENV = {
    "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "100000000",
    "IDENTITY_OTP_SENDS_PER_PHONE_PER_HOUR": "100000000",
    "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
    "LOG_LEVEL": "WARNING",
    # As `make run` runs the web processes: below the workers (gunicorn.conf.py).
    "WEB_NICE": os.environ.get("WEB_NICE", "10"),
}


# Unexpected answers met by the simulated users (a failed assertion in a journey step).
ERRORS: list[str] = []


@dataclass
class Calls:
    """Latencies (seconds) of one kind of call, and how many failed."""

    seconds: list[float] = field(default_factory=list)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call: Callable[[], Any], ok: Callable[[Any], bool]) -> Any:
        t0 = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.seconds.append(elapsed)
            if not ok(result):
                self.failed += 1
        return result

    def pct(self, q: float) -> float:
        if not self.seconds:
            return 0.0
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Sample:
    t: float
    submitted: int
    notified: int
    outbox_pending: int
    notify_queue: int


@dataclass
class Run:
    db: str
    calls: dict[str, Calls] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    lag_times: list[tuple[float, float]] = field(default_factory=list)
    submitted: dict[str, float] = field(default_factory=dict)
    # When the dossier service took each submission in (its `submitted_at`): the lag
    # from there leaves out the time the call waited for the saturated web to answer.
    accepted: dict[str, float] = field(default_factory=dict)
    service_lags: list[tuple[float, float]] = field(default_factory=list)
    notified: int = 0
    sampling_from: float = 0.0  # wall clock when the prepared-draft phase began

    def call(self, name: str) -> Calls:
        return self.calls.setdefault(name, Calls())

    def took_in(self, dossier: str, sent_at: float, answer: requests.Response) -> None:
        """A submission answered 200: when the client sent it, when the service began it."""
        self.submitted[dossier] = sent_at
        self.accepted[dossier] = datetime.fromisoformat(answer.json()["submitted_at"]).timestamp()


@contextmanager
def postgres_databases(admin_url: str) -> Iterator[dict[str, str]]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = {s: f"bench_{uuid.uuid4().hex[:8]}_{s}" for s in SERVICES}
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield {s: f"{base}/{name}" for s, name in names.items()}
    finally:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def notified_rows(notify_url: str) -> list[tuple[str, datetime]]:
    """(dossier id, delivery time) of every delivered dossier_submitted notification."""
    engine = make_engine(notify_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT reference, channel, completed_at FROM notification"
                " WHERE template = 'dossier_submitted' AND status = 'delivered'"
            )
        ).all()
    engine.dispose()
    channels: dict[str, set[str]] = {}
    last: dict[str, datetime] = {}
    for reference, channel, done in rows:
        done = datetime.fromisoformat(done) if isinstance(done, str) else done
        channels.setdefault(reference, set()).add(channel)
        last[reference] = max(done, last.get(reference, done))
    return [(r, last[r]) for r, c in channels.items() if {"sms", "email", "inbox"} <= c]


class Sampler(threading.Thread):
    """Once a second: submissions, fully notified dossiers, outbox and queue backlogs."""

    def __init__(self, portal: PortalDeployment, run: Run, amqp_url: str) -> None:
        super().__init__(daemon=True)
        env = portal.environment()
        self.dossier = make_engine(env["DOSSIER_DATABASE_URL"])
        self.notify_url = env["NOTIFY_DATABASE_URL"]
        self.settings = BusSettings(amqp_url=amqp_url, namespace=portal.namespace)
        self.run_ = run
        self.halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        self.run_.sampling_from = time.time()
        names = Names(self.settings.namespace)
        with pika.BlockingConnection(connection_parameters(self.settings)) as conn:
            channel = conn.channel()
            while not self.halt.wait(1.0):
                with self.dossier.connect() as db:
                    pending = db.execute(
                        text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                    ).scalar_one()
                queued = channel.queue_declare(names.commands_queue("notify"), passive=True)
                self.run_.samples.append(
                    Sample(
                        time.monotonic() - started,
                        len(self.run_.submitted),
                        len(notified_rows(self.notify_url)),
                        int(pending),
                        int(queued.method.message_count),
                    )
                )

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
        self.dossier.dispose()


def in_parallel(threads: int, seconds: float, work: Callable[[int], bool]) -> float:
    """Run work(i) from `threads` threads until `seconds` pass or work says stop; ops/s."""
    deadline = time.monotonic() + seconds
    counts = [0] * threads

    def loop(n: int) -> None:
        while time.monotonic() < deadline:
            try:
                if not work(n):
                    return
            except Exception as exc:  # an unexpected answer is counted, not fatal
                ERRORS.append(repr(exc)[:200])
                continue
            counts[n] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return sum(counts) / (time.monotonic() - started)


def bench(db: str, amqp_url: str, seconds: float, threads: int, drafts: int) -> Run:
    run = Run(db)
    with (
        tempfile.TemporaryDirectory(prefix="bench-portal-") as tmp,
        contextmanager_for(db) as urls,
        running_portal(Path(tmp), amqp_url, database_urls=urls, env=ENV, web_workers=2) as portal,
    ):
        exercise(portal, run, amqp_url, seconds, threads, drafts)
    return run


@contextmanager
def contextmanager_for(db: str) -> Iterator[dict[str, str]]:
    if db == "postgresql":
        with postgres_databases(POSTGRES) as urls:
            yield urls
    else:
        yield {}


def exercise(
    portal: PortalDeployment, run: Run, amqp_url: str, seconds: float, threads: int, drafts: int
) -> None:
    people = subscribers()
    client = PortalClient(portal.gateway_url)
    tokens: list[str] = []
    for person in people:
        run.call("register (whole flow)").timed(partial(client.register, person), bool)
        pair = run.call("login (both steps)").timed(
            partial(client.login, person.citizen_id, person.phone), bool
        )
        tokens.append(str(pair["access_token"]))
    agency = client.commune_with_officer()
    clients = [PortalClient(portal.gateway_url) for _ in range(threads)]

    def search(n: int) -> bool:
        run.call("search").timed(
            lambda: clients[n].get("/catalog/procedures", params={"q": "ket hon"}),
            lambda r: r.status_code == 200,
        )
        return True

    run.rates["searches/s"] = in_parallel(threads, min(10.0, seconds), search)

    def file_whole(n: int) -> bool:
        c, person, token = clients[n], people[n % len(people)], tokens[n % len(tokens)]
        dossier = run.call("create draft").timed(lambda: c.draft(token, agency), bool)
        run.call("fill").timed(lambda: c.fill(token, dossier, person), lambda _: True)
        for code in ("to-khai-xac-nhan-tinh-trang-hon-nhan", "giay-to-tuy-than"):
            run.call("attach").timed(
                partial(c.attach, token, dossier, code), lambda r: r.status_code == 201
            )
        at = time.time()
        answer = run.call("submit (filing)").timed(
            lambda: c.submit(token, dossier), lambda r: r.status_code == 200
        )
        if answer.status_code == 200:
            run.took_in(dossier, at, answer)
        return True

    run.rates["full filings/s"] = in_parallel(threads, min(20.0, seconds), file_whole)

    ready: list[tuple[str, str]] = []
    lock = threading.Lock()

    def prepare(n: int) -> bool:
        c, person, token = clients[n], people[n % len(people)], tokens[n % len(tokens)]
        dossier = c.prepared_draft(token, agency, person)
        with lock:
            ready.append((token, dossier))
            return len(ready) < drafts

    run.rates["drafts prepared/s"] = in_parallel(threads, 4 * seconds, prepare)

    sampler = Sampler(portal, run, amqp_url)
    sampler.start()
    queue = list(ready)

    def submit(n: int) -> bool:
        with lock:
            if not queue:
                return False
            token, dossier = queue.pop()
        at = time.time()
        answer = run.call("submit (prepared)").timed(
            lambda: clients[n].submit(token, dossier), lambda r: r.status_code == 200
        )
        if answer.status_code == 200:
            run.took_in(dossier, at, answer)
        return True

    run.rates["submits/s (prepared drafts)"] = in_parallel(threads, seconds, submit)

    officer = bearer(client.officer_token(agency))

    def receive(n: int) -> bool:
        with lock:
            if not ready:
                return False
            _token, dossier = ready.pop()
        run.call("officer receive").timed(
            lambda: clients[n].post(f"/dossiers/{dossier}/receive", headers=officer),
            lambda r: r.status_code == 200,
        )
        return True

    run.rates["officer receives/s"] = in_parallel(threads, min(10.0, seconds), receive)

    notify_url = portal.environment()["NOTIFY_DATABASE_URL"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = notified_rows(notify_url)
        if len({d for d, _ in done} & set(run.submitted)) >= len(run.submitted):
            break
        time.sleep(1)
    sampler.stop()
    for dossier, at in done:
        if dossier in run.submitted:
            # Stored as naive UTC.
            done_at = at.replace(tzinfo=UTC).timestamp()
            lag = done_at - run.submitted[dossier]
            run.lags.append(lag)
            run.lag_times.append((run.submitted[dossier], lag))
            run.service_lags.append((run.submitted[dossier], done_at - run.accepted[dossier]))
    run.notified = len(run.lags)


def report(run: Run) -> str:
    lines = [f"\n== {run.db}"]
    header = f"{'call':30} {'n':>7} {'failed':>7} {'p50 ms':>9} {'p99 ms':>9}"
    lines += [header, "-" * len(header)]
    for name, calls in run.calls.items():
        lines.append(
            f"{name:30} {len(calls.seconds):>7} {calls.failed:>7}"
            f" {calls.pct(0.5):>9.1f} {calls.pct(0.99):>9.1f}"
        )
    for name, rate in run.rates.items():
        lines.append(f"{name:42} {rate:>9.1f}")
    lags = sorted(run.lags)
    if lags:
        p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
        lines.append(
            f"submission -> notified (SMS+e-mail+inbox): {run.notified}/{len(run.submitted)}"
            f" dossiers, lag p50 {statistics.median(lags):.3f} s p99 {p99:.3f} s"
            f" max {lags[-1]:.3f} s"
        )
    phase = sorted(lag for at, lag in run.lag_times if at >= run.sampling_from)
    if phase:
        p99 = phase[min(len(phase) - 1, int(0.99 * len(phase)))]
        lines.append(
            f"  of which prepared-draft submits: {len(phase)}, lag p50"
            f" {statistics.median(phase):.3f} s p99 {p99:.3f} s"
        )
    taken = sorted(lag for at, lag in run.service_lags if at >= run.sampling_from)
    if taken:
        p99 = taken[min(len(taken) - 1, int(0.99 * len(taken)))]
        lines.append(
            "  the same from when the dossier service began each submission (its"
            f" submitted_at): p50 {statistics.median(taken):.3f} s p99 {p99:.3f} s"
        )
    if ERRORS:
        lines.append(f"journey errors: {len(ERRORS)}, first: {ERRORS[0]}")
    peak = max((s.outbox_pending for s in run.samples), default=0)
    queue = max((s.notify_queue for s in run.samples), default=0)
    lines.append(f"peak dossier outbox backlog {peak}, peak notify.commands queue {queue}")
    return "\n".join(lines)


def plot(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    t = [s.t for s in run.samples]
    submitted = [s.submitted for s in run.samples]
    notified = [s.notified for s in run.samples]
    top.plot(t[1:], [b - a for a, b in itertools.pairwise(submitted)], label="submits/s")
    top.plot(t[1:], [b - a for a, b in itertools.pairwise(notified)], label="notified/s")
    top.set_ylabel("per second")
    top.legend()
    phase = [(at - run.sampling_from, lag) for at, lag in run.lag_times if at >= run.sampling_from]
    middle.scatter([x for x, _ in phase], [lag for _, lag in phase], s=2)
    middle.set_ylabel("submission → notified (s)")
    bottom.plot(t, [s.outbox_pending for s in run.samples], label="dossier outbox pending")
    bottom.plot(t, [s.notify_queue for s in run.samples], label="notify.commands queue")
    bottom.set_ylabel("messages")
    bottom.set_xlabel("seconds into the prepared-draft phase")
    bottom.legend()
    fig.suptitle(f"Whole portal on {run.db}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--drafts", type=int, default=6000, help="prepared drafts to submit (enough for a minute)"
    )
    parser.add_argument("--amqp-url", default=DEFAULT_AMQP_URL)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for db in kinds:
        run = bench(db, args.amqp_url, args.seconds, args.threads, args.drafts)
        print(report(run), flush=True)
        plot(run, OUT / f"portal-{db}.png")
        results = {
            "rates": run.rates,
            "calls": {
                n: {
                    "n": len(c.seconds),
                    "failed": c.failed,
                    "p50_ms": c.pct(0.5),
                    "p99_ms": c.pct(0.99),
                }
                for n, c in run.calls.items()
            },
            "lags": sorted(run.lags),
            "lags_from_service": sorted(lag for _, lag in run.service_lags),
            "samples": [s.__dict__ for s in run.samples],
        }
        (OUT / f"portal-{db}.json").write_text(json.dumps(results, indent=1))
        print(f"plot: {OUT / f'portal-{db}.png'}")


if __name__ == "__main__":
    main()
