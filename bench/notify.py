"""Notify benchmark: `python -m bench.notify`.

Runs the worker's parts in this process (consumer, outbox relay, delivery dispatcher)
against the local RabbitMQ, a temporary SQLite database (or NOTIFY_BENCH_DATABASE_URL)
and a local aiosmtpd server, and prints one table:

- burst: N `notify.send` commands published at once; commands/s until every
  notification is delivered, to the dev outbox (SMS + e-mail + inbox) and to SMTP;
- paced: commands at a steady rate; p50/p99 latency from the command's creation
  (`occurred_at`) to its notification's `delivered` state.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
from aiosmtpd.controller import Controller
from sqlalchemy import String, text

from harness.scratch import scratch_database
from services.core.bus import (
    Envelope,
    Names,
    connection_parameters,
    delete_namespace,
)
from services.core.clock import utcnow
from services.core.config import BusSettings, ServiceSettings
from services.core.db import UtcDateTime
from services.notify.config import NotifySettings
from services.notify.context import MIGRATIONS, build_context
from services.notify.worker import build_worker

DEADLINE = 150.0  # seconds for the whole run, whatever the machine


class CountingSmtp:
    """aiosmtpd handler that only counts (the SMTP exchange is what we measure)."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.received += 1
        return "250 OK"


@dataclass
class Row:
    scenario: str
    commands: int
    notifications: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def command(channels: list[str], index: int) -> Envelope:
    return Envelope(
        type="notify.send",
        source="bench",
        subject=f"dossier-{index}",
        data={
            "template": "dossier_submitted",
            "channels": channels,
            "recipient": {
                "account_id": f"acc-{index}",
                "phone": f"+8491{index % 10_000_000:07d}",
                "email": f"citizen{index}@example.vn",
            },
            "personalisation": {
                "dossier_code": f"H38.01-261122-{index:04d}",
                "procedure_name": "Đăng ký khai sinh",
                "due_date": "25/11/2026",
            },
            "reference": f"dossier-{index}",
        },
    )


class Run:
    """One scenario's stack: fresh database and broker namespace."""

    def __init__(self, bus: BusSettings, notify: NotifySettings, database_url: str) -> None:
        self.bus = replace(bus, namespace=f"bench{uuid.uuid4().hex[:8]}.")
        self.names = Names(self.bus.namespace)
        settings = ServiceSettings(service="notify", database_url=database_url, bus=self.bus)
        # The service's own worker, built as `python -m services.notify.worker` builds it.
        self.ctx = build_context(settings, notify)
        self.ctx.database.migrate(MIGRATIONS)
        self.sessions = self.ctx.sessions
        self.worker = build_worker(self.ctx)

    def __enter__(self) -> Run:
        self.worker.start()
        wait(lambda: all(self.worker.ready().values()), 20, "worker ready")
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self.worker.join()
        with pika.BlockingConnection(connection_parameters(self.bus)) as conn:
            delete_namespace(conn.channel(), self.names, ["notify"], self.bus)
        self.ctx.database.engine.dispose()

    def publish(self, envelopes: list[Envelope], rate: float | None = None) -> None:
        with pika.BlockingConnection(connection_parameters(self.bus)) as conn:
            channel = conn.channel()
            started = time.perf_counter()
            for i, envelope in enumerate(envelopes):
                if rate:
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                # occurred_at is when the sender committed the command: now.
                envelope = replace(envelope, occurred_at=utcnow())
                envelopes[i] = envelope
                channel.basic_publish(
                    self.names.commands_exchange,
                    envelope.type,
                    envelope.to_body(),
                    pika.BasicProperties(
                        message_id=envelope.id, type=envelope.type, delivery_mode=2
                    ),
                )

    def finished(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(FINISHED) or 0)

    def latencies_ms(self, sent: dict[str, float]) -> list[float]:
        with self.sessions() as session:
            rows = session.execute(DELIVERED).all()
        return [
            (_aware(completed).timestamp() - sent[command_id]) * 1000
            for command_id, completed in rows
            if completed is not None and command_id in sent
        ]


# Read from the outside, as an operator would: the notification table's columns.
FINISHED = text("SELECT count(*) FROM notification WHERE completed_at IS NOT NULL")
DELIVERED = text(
    "SELECT command_id, completed_at FROM notification WHERE status = 'delivered'"
).columns(command_id=String, completed_at=UtcDateTime)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: {what} not reached within {timeout}s")
        time.sleep(0.01)


def scenario(
    name: str,
    bus: BusSettings,
    notify: NotifySettings,
    database_url: str,
    channels: list[str],
    count: int,
    rate: float | None = None,
) -> Row:
    with Run(bus, notify, database_url) as run:
        envelopes = [command(channels, i) for i in range(count)]
        started = time.perf_counter()
        run.publish(envelopes, rate)
        expected = count * len(channels)
        wait(lambda: run.finished() >= expected, DEADLINE / 2, f"{name}: {expected} delivered")
        seconds = time.perf_counter() - started
        sent = {e.id: e.occurred_at.timestamp() for e in envelopes}
        return Row(name, count, expected, seconds, run.latencies_ms(sent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--smtp-commands", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="paced commands/s")
    parser.add_argument("--paced-seconds", type=float, default=6.0)
    args = parser.parse_args()

    bus = BusSettings.from_env()
    tmp = tempfile.mkdtemp(prefix="bench-notify-")
    url_env = os.environ.get("NOTIFY_BENCH_DATABASE_URL")
    scratch = contextlib.ExitStack()

    def database_url() -> str:
        """A fresh database per scenario (SQLite file or PostgreSQL schema), dropped at the end."""
        kind = "postgresql" if url_env else "sqlite"
        return scratch.enter_context(scratch_database(kind, Path(tmp), url_env, "bench")).url_only

    notify = NotifySettings(
        poll_interval=0.5,
        delivery_threads=int(os.environ.get("NOTIFY_DELIVERY_THREADS", "8")),
        sms_per_recipient_per_hour=1000,
    )
    smtp = CountingSmtp()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_notify = replace(notify, email_provider="smtp", smtp_host="127.0.0.1", smtp_port=port)
    started = time.perf_counter()
    rows = [
        scenario(
            "burst dev-outbox sms+email+inbox",
            bus,
            notify,
            database_url(),
            ["sms", "email", "inbox"],
            args.commands,
        ),
        scenario(
            "burst smtp email", bus, smtp_notify, database_url(), ["email"], args.smtp_commands
        ),
        scenario(
            f"paced {args.rate:.0f}/s dev-outbox sms+email+inbox",
            bus,
            notify,
            database_url(),
            ["sms", "email", "inbox"],
            int(args.rate * args.paced_seconds),
            rate=args.rate,
        ),
        scenario(
            f"paced {args.rate / 2:.0f}/s smtp email",
            bus,
            smtp_notify,
            database_url(),
            ["email"],
            int(args.rate / 2 * args.paced_seconds),
            rate=args.rate / 2,
        ),
    ]
    controller.stop()
    scratch.close()

    print(
        f"\nnotify benchmark ({'SQLite' if not url_env else url_env.split(':')[0]}, "
        f"RabbitMQ {bus.amqp_url.rsplit('@', 1)[-1]}, {time.perf_counter() - started:.0f} s)"
    )
    header = (
        f"{'scenario':42} {'cmds':>6} {'notifs':>7} {'secs':>7} {'cmds/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:42} {row.commands:6d} {row.notifications:7d} {row.seconds:7.2f} "
            f"{row.rate:8.1f} {row.pct(0.5):8.1f} {row.pct(0.99):8.1f}"
        )
    dev, mail, paced, paced_mail = rows
    print(f"\nsmtp / dev-outbox commands/s ratio: {mail.rate / dev.rate:.2f}")
    print(f"paced dev-outbox p99 / 1000 ms target: {paced.pct(0.99) / 1000:.2f}")
    print(f"paced smtp p99 / 1000 ms target: {paced_mail.pct(0.99) / 1000:.2f}")
    print(f"smtp messages received by the server: {smtp.received}")
    print(f"mean latency paced: {statistics.fmean(paced.latencies_ms):.1f} ms")


if __name__ == "__main__":
    main()
