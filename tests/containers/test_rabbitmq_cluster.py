"""A three-node RabbitMQ cluster loses a node under load, twice.

Three containers of the portal's RabbitMQ image (deploy/rabbitmq/cluster.compose.yaml)
form a cluster; the portal's queues are quorum queues with a replica on each node. An
outbox relay publishes a steady stream of events (with publisher confirms) and a
consumer handles them through its inbox, both given the three nodes' addresses. One
node is stopped (docker stop) and later started again; then another node is killed
(docker kill) and started again. Nothing may be lost or take effect twice, and the
backlog must drain. The pause each fault causes (the longest gap between two handled
events) is measured and printed.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.bus import (
    BusBase,
    Consumer,
    Envelope,
    Names,
    OutboxContext,
    OutboxRelay,
    OutboxStore,
    PendingMessage,
    record_event,
)
from services.core.bus.batches import BatchTimes
from services.core.bus.topology import UNROUTED_SUFFIX
from services.core.config import BusSettings
from services.core.db import make_engine, make_session_factory
from tests.support.models import Effect, SampleBase
from tests.support.rabbitmq_cluster import (
    NODES,
    Cluster,
    DockerError,
)
from tests.support.running import running
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.containers, pytest.mark.timeout(600)]

RATE = 150.0  # events per second, written to the outbox
STEADY = 8.0  # seconds of undisturbed load before, between and after the faults
DOWN = 10.0  # seconds the stopped node stays down
KILLED_DOWN = 5.0  # seconds the killed node stays down
DRAIN_TIMEOUT = 60.0
REJOIN_TIMEOUT = 120.0  # a restarted node boots in 15-30 s; far longer on a busy machine


@pytest.fixture(scope="module")
def cluster(images: dict[str, str]) -> Iterator[Cluster]:
    """Three nodes of the RabbitMQ image `make images` builds (the session's one build)."""
    cluster = Cluster(images["RABBITMQ_IMAGE"])
    try:
        try:
            cluster.up()
        except DockerError:
            print(cluster.logs())
            raise
        yield cluster
    finally:
        cluster.down()


class SteadyWriter(threading.Thread):
    """Commits events into the outbox at `rate` per second until stopped."""

    def __init__(self, sessions: sessionmaker[Session], rate: float) -> None:
        super().__init__(daemon=True, name="steady-writer")
        self.sessions = sessions
        self.rate = rate
        self.written: dict[str, float] = {}  # event id -> when it was committed
        self.error: Exception | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        started, count = time.monotonic(), 0
        while not self._halt.wait(0.01):
            due = int((time.monotonic() - started) * self.rate)
            if due <= count:
                continue
            try:
                with self.sessions() as session, session.begin():
                    ids = [
                        record_event(session, "test.tick", {"n": n}).id for n in range(count, due)
                    ]
            except Exception as exc:  # the test fails on it, after tearing down
                self.error = exc
                return
            now = time.monotonic()
            self.written.update(dict.fromkeys(ids, now))
            count = due

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join(10)
        return self.written


class Timeline:
    """When each event was first seen handled (and how many more copies the inbox
    skipped), and when the relay marked each batch published."""

    def __init__(self, consumer: Consumer, relay: OutboxRelay) -> None:
        self._lock = threading.Lock()
        self.handled: dict[str, float] = {}
        self.skipped_copies = 0
        self.published: list[float] = []
        consumer.observe(self._on_handled)
        relay.observe_batches(self._on_published)

    def _on_handled(self, envelope: Envelope, outcome: str) -> None:
        # An event whose effect committed just before its connection went (so its ack was
        # lost) is first seen here as the copy the inbox skipped on redelivery.
        if outcome not in ("handled", "duplicate"):
            return
        with self._lock:
            if envelope.id in self.handled:
                self.skipped_copies += 1
            else:
                self.handled[envelope.id] = time.monotonic()

    def _on_published(self, rows: list[PendingMessage], times: BatchTimes) -> None:
        with self._lock:
            self.published.append(time.monotonic())

    def handled_ids(self) -> set[str]:
        with self._lock:
            return set(self.handled)


@dataclass
class Fault:
    what: str
    at: float  # monotonic, when the fault began
    until: float = 0.0  # when the next phase began


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest time between consecutive `times` across [start, end], counting from the
    last one before `start`."""
    ordered = sorted(times)
    before = [t for t in ordered if t < start]
    inside = [t for t in ordered if start <= t <= end]
    points = before[-1:] + inside
    if len(points) < 2:
        return end - (points[0] if points else start)
    return max(b - a for a, b in itertools.pairwise(points))


def diagnosis(
    cluster: Cluster,
    queue: str,
    writer: SteadyWriter,
    timeline: Timeline,
    relay: OutboxRelay,
    consumer: Consumer,
    outbox: sessionmaker[Session],
) -> str:
    """Where the events are when the test fails: outbox, broker, consumer."""
    lines = [
        f"written {len(writer.written)}, handled {len(timeline.handled)},"
        f" relay connected {relay.connected}, consumer connected {consumer.connected}",
        f"outbox: {OutboxStore(outbox).status()}",
    ]
    for node in NODES:
        try:
            info = cluster.queue(node, queue)
            lines.append(
                f"{queue} seen from {node}: ready {info.get('messages_ready')},"
                f" unacked {info.get('messages_unacknowledged')},"
                f" consumers {info.get('consumers')}, leader {info.get('leader')},"
                f" online {info.get('online')}"
            )
        except Exception as exc:
            lines.append(f"{node}: {exc!r}")
    return "\n".join(lines)


def record_effect(session: Session, envelope: Envelope) -> None:
    session.add(Effect(message_id=envelope.id, consumer="test", value=str(envelope.data)))


def test_losing_a_node_under_load_loses_nothing_and_doubles_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    settings = BusSettings(amqp_url=cluster.amqp_urls, namespace=f"c{uuid.uuid4().hex[:8]}.")
    names = Names(settings.namespace)
    outbox_engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    BusBase.metadata.create_all(outbox_engine)
    outbox = make_session_factory(outbox_engine, outbox=OutboxContext(source="test"))
    inbox_engine = make_engine(f"sqlite:///{tmp_path}/inbox.db")
    BusBase.metadata.create_all(inbox_engine)
    SampleBase.metadata.create_all(inbox_engine)
    inbox = make_session_factory(inbox_engine)

    consumer = Consumer("test", inbox, settings, names=names)
    consumer.on_event("test.#")(record_effect)
    relay = OutboxRelay(outbox, settings, service="test", names=names)
    timeline = Timeline(consumer, relay)
    writer = SteadyWriter(outbox, RATE)
    faults: list[Fault] = []
    events_queue = names.events_queue("test")

    def leader() -> str:
        try:
            return str(cluster.queue("rabbit-3", events_queue).get("leader", "?"))
        except OSError:
            return "?"

    try:
        with running(consumer, relay):
            wait_until(lambda: relay.connected and consumer.connected, 30, what="connections")
            queues = [
                events_queue,
                names.dead_letter_queue("test"),
                f"{settings.namespace}{UNROUTED_SUFFIX}",
                *(
                    names.retry_queue(events_queue, n)
                    for n in range(1, len(settings.retry_delays) + 1)
                ),
            ]
            for name in queues:
                queue = cluster.queue("rabbit-2", name)
                assert queue["type"] == "quorum", name
                assert sorted(m.split("@", 1)[1] for m in queue["members"]) == list(NODES)
            print(f"\nevents queue leader at start: {leader()}")

            writer.start()
            loaded_at = time.monotonic()
            time.sleep(STEADY)

            faults.append(Fault("docker stop rabbit-1", time.monotonic()))
            cluster.stop("rabbit-1")
            stopped_in = time.monotonic() - faults[-1].at
            time.sleep(DOWN)
            cluster.start("rabbit-1")
            cluster.wait_for_cluster(set(NODES), timeout=REJOIN_TIMEOUT)
            rejoined_1 = time.monotonic() - faults[-1].at
            print(f"after the stop: leader {leader()}, rabbit-1 back {rejoined_1:.1f} s later")
            time.sleep(STEADY)

            # The worst case: the node holding the queue's leader dies without a word.
            victim = leader().partition("@")[2]
            victim = victim if victim in NODES else "rabbit-2"
            faults[-1].until = time.monotonic()
            faults.append(
                Fault(f"docker kill {victim} (the leader), start it 5 s later", time.monotonic())
            )
            cluster.kill(victim)
            time.sleep(KILLED_DOWN)
            cluster.start(victim)
            cluster.wait_for_cluster(set(NODES), timeout=REJOIN_TIMEOUT)
            rejoined_2 = time.monotonic() - faults[-1].at
            print(f"after the kill: leader {leader()}, {victim} back {rejoined_2:.1f} s later")
            time.sleep(STEADY)

            written = writer.stop()
            written_until = time.monotonic()
            faults[-1].until = written_until
            wait_until(
                lambda: timeline.handled_ids() >= set(written),
                DRAIN_TIMEOUT,
                interval=0.2,
                what="every written event handled",
            )
            drained_after = time.monotonic() - written_until
            wait_until(lambda: OutboxStore(outbox).status().pending == 0, 30, what="outbox")
    except Exception:
        print(cluster.logs(tail=30))
        print(diagnosis(cluster, events_queue, writer, timeline, relay, consumer, outbox))
        raise
    finally:
        writer.stop()

    assert writer.error is None, writer.error
    with inbox() as session:
        effects = session.scalars(select(Effect.message_id)).all()
        doubled = session.execute(
            select(Effect.message_id).group_by(Effect.message_id).having(func.count() > 1)
        ).all()
    handled = timeline.handled
    lost = set(written) - set(effects)
    latencies = [handled[i] - written[i] for i in written if i in handled]
    baseline = longest_gap(list(handled.values()), loaded_at + 1, faults[0].at)
    lines = [
        f"{len(written)} events at {RATE:.0f}/s over {written_until - loaded_at:.0f} s;"
        f" lost {len(lost)}, effects {len(effects)}, doubled {len(doubled)},"
        f" copies skipped by the inbox {timeline.skipped_copies};"
        f" latency p50 {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s;"
        f" drained {drained_after:.1f} s after the load stopped",
        f"undisturbed: longest gap between handled events {baseline:.2f} s",
        f"{faults[0].what} (took {stopped_in:.1f} s):",
        f"{faults[1].what}:",
    ]
    for index, fault in enumerate(faults):
        handling = longest_gap(list(handled.values()), fault.at, fault.until)
        publishing = longest_gap(timeline.published, fault.at, fault.until)
        lines[2 + index] += f" pause of handling {handling:.2f} s, of publishing {publishing:.2f} s"
    print("\nRabbitMQ cluster losing a node: " + "\n  ".join(lines))

    assert not lost, f"{len(lost)} events lost"
    assert len(effects) == len(written) and not doubled
    assert drained_after < 30
    for fault in faults:
        assert longest_gap(list(handled.values()), fault.at, fault.until) < 30, fault.what
