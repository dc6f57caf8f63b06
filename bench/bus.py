"""Benchmark of the event backbone on this machine, printed as one table.

    python -m bench.bus [--events 50000] [--steady-seconds 10]

Measured in one run against the real RabbitMQ (AMQP_URL) and PostgreSQL
(TEST_DATABASE_URL): raw pika publishing with batched confirms (the baseline), the
outbox relay draining a backlog, end-to-end committed→handled throughput, and the
latency from commit to handled at a steady 200 events/s, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing import Queue
from pathlib import Path
from queue import Empty

import pika
from pika.adapters.select_connection import SelectConnection
from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from harness.scratch import scratch_database
from services.core.bus import (
    BatchTimes,
    BusBase,
    Consumer,
    Envelope,
    Names,
    OutboxContext,
    OutboxMessage,
    OutboxRelay,
    OutboxStore,
    PendingMessage,
    connection_parameters,
    declare_exchanges,
    delete_namespace,
    record_event,
)
from services.core.clock import utcnow
from services.core.config import DEFAULT_AMQP_URL, BusSettings
from services.core.db import make_engine, make_session_factory

PG_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SINK = "bench.sink"
DB_CONNECT_ARGS: dict[str, str] = {}  # how to reach the database in use (its schema)
WINDOW = 1000


@dataclass
class Row:
    what: str
    storage: str
    value: float
    unit: str
    note: str = ""


def sink_queue(settings: BusSettings, names: Names) -> str:
    """A quorum queue bound to every event, as a consuming service's queue would be."""
    queue = f"{names.namespace}{SINK}"
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        declare_exchanges(channel, names)
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(queue, names.events_exchange, routing_key="#")
        channel.queue_purge(queue)
    return queue


def purge(settings: BusSettings, queue: str) -> None:
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        conn.channel().queue_purge(queue)


def raw_pika_publish(settings: BusSettings, names: Names, count: int) -> float:
    """Messages/s of plain pika: async publishing, confirms awaited in a sliding window."""
    body = Envelope(type="bench.raw", data={"n": 1}, source="bench").to_body()
    state = {"sent": 0, "acked": 0, "started": 0.0, "ended": 0.0}

    def publish_more(channel: pika.channel.Channel) -> None:
        while state["sent"] < count and state["sent"] - state["acked"] < WINDOW:
            state["sent"] += 1
            channel.basic_publish(
                names.events_exchange,
                "bench.raw",
                body,
                pika.BasicProperties(
                    message_id=str(uuid.uuid4()),
                    type="bench.raw",
                    content_type="application/json",
                    delivery_mode=2,
                ),
                mandatory=True,
            )

    def on_channel(channel: pika.channel.Channel) -> None:
        def on_confirm(frame: pika.frame.Method) -> None:
            tag = frame.method.delivery_tag
            state["acked"] = tag if frame.method.multiple else max(state["acked"], tag)
            if state["acked"] >= count:
                state["ended"] = time.perf_counter()
                connection.close()
            else:
                publish_more(channel)

        channel.confirm_delivery(ack_nack_callback=on_confirm)
        state["started"] = time.perf_counter()
        publish_more(channel)

    connection = SelectConnection(
        connection_parameters(settings)[0],
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_close_callback=lambda c, r: c.ioloop.stop(),
    )
    connection.ioloop.start()
    return count / (state["ended"] - state["started"])


@contextmanager
def database(kind: str) -> Iterator[sessionmaker[Session]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(kind, Path(tmp), PG_URL, "bench") as place,
    ):
        DB_CONNECT_ARGS.clear()
        DB_CONNECT_ARGS.update(place.connect_args)
        engine = make_engine(place.url, connect_args=place.connect_args)
        BusBase.metadata.create_all(engine)
        try:
            yield make_session_factory(engine, outbox=OutboxContext(source="bench"))
        finally:
            engine.dispose()


def fill_backlog(sessions: sessionmaker[Session], count: int) -> None:
    now = utcnow()
    rows = []
    for i in range(count):
        env = Envelope(type="bench.backlog", data={"n": i}, source="bench", subject=f"s{i}")
        rows.append(
            {
                "message_id": env.id,
                "kind": "event",
                "type": env.type,
                "routing_key": env.type,
                "subject": env.subject,
                "body": env.to_body().decode(),
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
        )
    with sessions() as session:
        for start in range(0, count, 5000):
            session.execute(insert(OutboxMessage), rows[start : start + 5000])
        session.commit()
    with sessions() as session:
        session.execute(text("ANALYZE"))  # as autovacuum would soon after such a fill
        session.commit()


def run_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target.run, daemon=True)  # type: ignore[attr-defined]
    thread.start()
    return thread


STAGES = ("claim", "publish", "confirm", "mark")


def stage_spans(times: BatchTimes) -> dict[str, float]:
    """Seconds a batch spent in each stage of the relay."""
    return {
        "claim": times.claimed - times.asked,
        "publish": times.published - times.claimed,
        "confirm": times.confirmed - times.published,
        "mark": times.marked - times.confirmed,
    }


def relay_backlog(
    settings: BusSettings, names: Names, kind: str, count: int
) -> tuple[float, dict[str, float]]:
    """(msg/s draining the backlog, ms per 1000 rows spent in each stage)."""
    spent = dict.fromkeys(STAGES, 0.0)

    def add(rows: list[PendingMessage], times: BatchTimes) -> None:
        for stage, span in stage_spans(times).items():
            spent[stage] += span

    with database(kind) as sessions:
        fill_backlog(sessions, count)
        store = OutboxStore(sessions)
        relay = OutboxRelay(sessions, settings, service="bench", names=names)
        relay.observe_batches(add)
        started = time.perf_counter()
        thread = run_thread(relay)
        while relay.published_total < count:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        relay.stop()
        thread.join(10)
        assert store.status().pending == 0
    return count / elapsed, {stage: spent[stage] * 1e6 / count for stage in STAGES}


Report = tuple[str, list[str], tuple[float, ...]]


def _worker_process(
    settings: BusSettings,
    url: str,
    connect_args: dict[str, str],
    handled: Queue[Report],
    parts: tuple[str, ...],
) -> None:
    """A service worker as in production: relay and consumer threads in their own process,
    or only one of them (WORKER_RELAY_PROCESS puts the relay in a process of its own)."""
    sys.setswitchinterval(settings.gil_switch_interval)  # as Worker.run_forever does
    engine = make_engine(url, connect_args=connect_args)
    sessions = make_session_factory(engine, outbox=OutboxContext(source="bench"))
    names = Names(settings.namespace)
    consumer = Consumer("bench", sessions, settings, names=names)

    started: dict[str, float] = {}

    @consumer.on_event("bench.e2e.*")
    def effect(session: Session, envelope: Envelope) -> None:
        started[envelope.id] = time.time()

    def on_handled(envelope: Envelope, outcome: str) -> None:
        handled.put(("handled", [envelope.id], (started.pop(envelope.id, 0.0), time.time())))

    def on_batch(rows: list[PendingMessage], t: BatchTimes) -> None:
        ids = [row.message_id for row in rows]
        handled.put(("relayed", ids, (t.asked, t.claimed, t.published, t.confirmed, t.marked)))

    consumer.observe(on_handled)
    relay = OutboxRelay(sessions, settings, service="bench", names=names)
    relay.observe_batches(on_batch)
    running = ([consumer] if "consumer" in parts else []) + ([relay] if "relay" in parts else [])
    threads = [run_thread(part) for part in running]
    while not all(part.connected for part in running):
        time.sleep(0.01)
    handled.put(("ready", [], ()))
    for thread in threads:
        thread.join()


E2E_STAGES = ("wake", "claim", "publish", "confirm", "deliver", "handle", "total")


@dataclass
class EndToEnd:
    burst_rate: float
    latencies: list[float]  # ms, commit -> handled, at a steady 200/s
    stages: dict[str, list[float]]  # ms per event in each stage of the way


def end_to_end(
    settings: BusSettings, names: Names, kind: str, count: int, steady_seconds: float
) -> EndToEnd:
    """Committed→handled events/s for a burst, and latencies at a steady 200/s by stage.

    The producer (this process, like a web process) and the worker (relay + consumer,
    another process) run apart, as they do in production.
    """
    handled: dict[str, tuple[float, float]] = {}
    relayed: dict[str, tuple[float, ...]] = {}
    queue: Queue[Report] = multiprocessing.Queue()
    with database(kind) as sessions:
        engine = sessions.kw["bind"]
        url = engine.url.render_as_string(hide_password=False)
        connect_args = dict(DB_CONNECT_ARGS)
        apart = settings.relay_apart(url)
        groups = [("consumer",), ("relay",)] if apart else [("consumer", "relay")]
        workers = [
            multiprocessing.Process(
                target=_worker_process,
                args=(settings, url, connect_args, queue, parts),
                daemon=True,
            )
            for parts in groups
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            queue.get(timeout=60)  # ready

        def wait_all(ids: list[str], timeout: float) -> None:
            deadline = time.time() + timeout
            while any(i not in handled for i in ids) and time.time() < deadline:
                try:
                    what, message_ids, times = queue.get(timeout=1)
                except Empty:
                    continue
                for message_id in message_ids:
                    if what == "handled":
                        handled[message_id] = (times[0], times[1])
                    else:
                        relayed[message_id] = times

        # Burst: commit `count` events in transactions of 10, measure until all handled.
        started = time.time()
        ids: list[str] = []
        for start in range(0, count, 10):
            with sessions() as session, session.begin():
                for i in range(start, min(count, start + 10)):
                    ids.append(record_event(session, "bench.e2e.burst", {"n": i}).id)
        wait_all(ids, 300)
        burst_rate = count / (max(handled[i][1] for i in ids) - started)

        # Steady 200 events/s, one event per transaction.
        committed: dict[str, float] = {}
        interval = 1 / 200
        next_at = time.time()
        end_at = next_at + steady_seconds
        while next_at < end_at:
            with sessions() as session, session.begin():
                env = record_event(session, "bench.e2e.steady", {})
            committed[env.id] = time.time()
            next_at += interval
            pause = next_at - time.time()
            if pause > 0:
                time.sleep(pause)
        wait_all(list(committed), 60)
        time.sleep(0.5)  # the last marks' reports
        while True:
            try:
                what, message_ids, times = queue.get(timeout=0.2)
            except Empty:
                break
            if what == "relayed":
                relayed.update(dict.fromkeys(message_ids, times))
        for worker in workers:
            worker.terminate()
            worker.join(10)
    stages: dict[str, list[float]] = {stage: [] for stage in E2E_STAGES}
    latencies = []
    for message_id, at in committed.items():
        if message_id not in handled:
            continue
        began, done = handled[message_id]
        latencies.append((done - at) * 1000)
        if message_id not in relayed:
            continue
        asked, claimed, published, confirmed, _ = relayed[message_id]
        spans = {
            "wake": asked - at,
            "claim": claimed - asked,
            "publish": published - claimed,
            "confirm": confirmed - published,
            "deliver": began - published,
            "handle": done - began,
            "total": done - at,
        }
        for stage, span in spans.items():
            stages[stage].append(span * 1000)
    return EndToEnd(burst_rate, latencies, stages)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--e2e-events", type=int, default=10_000)
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--storage", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument(
        "--relay-process",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="relay in a process of its own (default: WORKER_RELAY_PROCESS)",
    )
    args = parser.parse_args(argv)
    kinds = args.storage or ["sqlite", "postgresql"]
    base = BusSettings.from_env()
    settings = replace(
        base,
        amqp_url=os.environ.get("AMQP_URL", DEFAULT_AMQP_URL),
        namespace=f"bench{uuid.uuid4().hex[:6]}.",
        consumer_prefetch=200,
    )
    if args.relay_process is not None:
        settings = replace(settings, relay_process="true" if args.relay_process else "false")
    names = Names(settings.namespace)
    rows: list[Row] = []
    stage_rows: list[str] = []
    queue = sink_queue(settings, names)
    load = os.getloadavg()[0]
    try:
        raw = raw_pika_publish(settings, names, args.events)
        rows.append(Row("raw pika publish, batched confirms", "-", raw, "msg/s", "baseline"))
        purge(settings, queue)
        for kind in [] if args.skip_backlog else kinds:
            rate, spent = relay_backlog(settings, names, kind, args.events)
            rows.append(
                Row(
                    f"outbox relay, backlog of {args.events}",
                    kind,
                    rate,
                    "msg/s",
                    f"{rate / raw:.0%} of raw (target >= 50%)",
                )
            )
            stage_rows.append(
                f"relay {kind:<11} ms per 1000 rows (stages overlap): "
                + ", ".join(f"{stage} {ms:.1f}" for stage, ms in spent.items())
            )
            purge(settings, queue)
        for kind in [] if args.skip_e2e else kinds:
            result = end_to_end(settings, names, kind, args.e2e_events, args.steady_seconds)
            latencies = result.latencies
            rows.append(Row("end to end committed->handled", kind, result.burst_rate, "events/s"))
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            rows.append(Row("latency p50 at 200 events/s", kind, p50, "ms"))
            rows.append(
                Row(
                    "latency p99 at 200 events/s",
                    kind,
                    p99,
                    "ms",
                    f"target < 20 ms; n={len(latencies)}, mean {statistics.mean(latencies):.1f}",
                )
            )
            for stage, spans in result.stages.items():
                if spans:
                    stage_rows.append(
                        f"e2e {kind:<11} {stage:<8} ms p50 {percentile(spans, 50):6.1f}"
                        f"  p90 {percentile(spans, 90):6.1f}  p99 {percentile(spans, 99):6.1f}"
                        f"  max {max(spans):6.1f}"
                    )
            purge(settings, queue)
    finally:
        with pika.BlockingConnection(connection_parameters(settings)) as conn:
            channel = conn.channel()
            channel.queue_delete(queue)
            delete_namespace(channel, names, ["bench"], settings)
    print(
        f"load average at start {load:.2f}, at end {os.getloadavg()[0]:.2f}; "
        f"relay process of its own (WORKER_RELAY_PROCESS): {settings.relay_process}"
    )
    print(f"{'measure':<40} {'storage':<11} {'value':>12} {'unit':<9} note")
    for row in rows:
        print(f"{row.what:<40} {row.storage:<11} {row.value:>12.1f} {row.unit:<9} {row.note}")
    for line in stage_rows:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
