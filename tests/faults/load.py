"""Steady load and its accounting for the fault tests: submit prepared drafts at a fixed
rate, then check in notify's database that every submission was notified exactly once
on each channel (SMS, e-mail, inbox)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, text

from harness.journey import PortalClient, Subscriber, subscribers
from harness.portal import PortalDeployment
from services.core.db import make_engine

CHANNELS = ("sms", "email", "inbox")
# One simulated citizen files many dossiers: lift the per-phone caps that would refuse
# their SMS and OTPs (the caps themselves are tested in tests/security).
LOAD_ENV = {
    "NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "1000000",
    "IDENTITY_OTP_SENDS_PER_PHONE_PER_HOUR": "1000000",
    "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
}
FINAL = ("delivered",)


@dataclass
class Submission:
    dossier_id: str
    at: float  # wall clock when the call started
    status: int
    seconds: float
    body: str = ""


@dataclass
class Citizen:
    person: Subscriber
    token: str
    agency: str
    drafts: list[str] = field(default_factory=list)


def enrol(portal: PortalDeployment, index: int = 0, drafts: int = 0) -> Citizen:
    """A registered, logged-in citizen with `drafts` prepared drafts (made in parallel)."""
    client = PortalClient(portal.gateway_url)
    person = subscribers()[index]
    client.register(person)
    token = str(client.login(person.citizen_id, person.phone)["access_token"])
    citizen = Citizen(person, token, client.commune_with_officer())

    def one(_: int) -> str:
        return PortalClient(portal.gateway_url).prepared_draft(token, citizen.agency, person)

    with ThreadPoolExecutor(4) as pool:
        citizen.drafts = list(pool.map(one, range(drafts)))
    return citizen


class SubmitLoad(threading.Thread):
    """Submits the citizen's drafts at `rate` per second until stopped or out of drafts."""

    def __init__(self, portal: PortalDeployment, citizen: Citizen, rate: float) -> None:
        super().__init__(daemon=True)
        self.client = PortalClient(portal.gateway_url, timeout=30)
        self.citizen = citizen
        self.rate = rate
        self.done: list[Submission] = []
        self._halt = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        for n, dossier_id in enumerate(self.citizen.drafts):
            if self._halt.is_set():
                return
            delay = started + n / self.rate - time.monotonic()
            if delay > 0 and self._halt.wait(delay):
                return
            at, t0 = time.time(), time.perf_counter()
            try:
                answer = self.client.submit(self.citizen.token, dossier_id)
                status, body = answer.status_code, answer.text[:200]
            except Exception as exc:  # a failed call is a figure, not a crash of the load
                status, body = 0, repr(exc)
            self.done.append(Submission(dossier_id, at, status, time.perf_counter() - t0, body))

    def stop(self) -> list[Submission]:
        self._halt.set()
        self.join(60)
        return self.done


@dataclass
class Accounting:
    expected: int
    notified: int  # dossiers with every channel delivered
    duplicates: int  # (dossier, channel) pairs notified more than once
    missing: list[str]
    max_lag: float
    p50_lag: float

    def line(self) -> str:
        return (
            f"submitted {self.expected}, fully notified {self.notified}, "
            f"duplicates {self.duplicates}, missing {len(self.missing)}, "
            f"lag p50 {self.p50_lag:.2f} s max {self.max_lag:.2f} s"
        )


def account(notify_url: str, submissions: Iterable[Submission]) -> Accounting:
    """How the successful submissions were notified, read from notify's database."""
    submitted = {s.dossier_id: s.at for s in submissions if s.status == 200}
    engine = make_engine(notify_url)
    query = text(
        "SELECT reference, channel, status, completed_at FROM notification"
        " WHERE template = 'dossier_submitted' AND reference IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": list(submitted) or [""]}).all()
    engine.dispose()
    per_pair = Counter((r.reference, r.channel) for r in rows)
    delivered: dict[str, set[str]] = {}
    lags = []
    for r in rows:
        if r.status in FINAL:
            delivered.setdefault(r.reference, set()).add(r.channel)
            done = r.completed_at
            if isinstance(done, str):
                done = datetime.fromisoformat(done)
            if done is not None:
                lags.append(done.replace(tzinfo=UTC).timestamp() - submitted[r.reference])
    complete = [d for d in submitted if delivered.get(d, set()) >= set(CHANNELS)]
    return Accounting(
        expected=len(submitted),
        notified=len(complete),
        duplicates=sum(1 for n in per_pair.values() if n > 1),
        missing=[d for d in submitted if d not in set(complete)],
        max_lag=max(lags, default=0.0),
        p50_lag=statistics.median(lags) if lags else 0.0,
    )


def wait_until_notified(
    notify_url: str, submissions: list[Submission], timeout: float
) -> tuple[Accounting, float]:
    """Poll until every submission is notified on every channel; (accounting, seconds)."""
    started = time.monotonic()
    while True:
        result = account(notify_url, submissions)
        elapsed = time.monotonic() - started
        if not result.missing or elapsed > timeout:
            return result, elapsed
        time.sleep(0.2)
