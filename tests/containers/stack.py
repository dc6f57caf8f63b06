"""The portal's compose file started for real, and what the container tests measure on it.

`Stack` runs `docker-compose` on deploy/compose.yaml with a test project name, a test
env file (`compose_env --development`: the dev outbox) and an override that only
shortens health-check intervals and lifts the per-phone caps a load test would hit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from deploy import compose_env
from gateway.config import DEFAULT_RATE_LIMITS
from harness.journey import PortalClient, Subscriber

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
PROJECT = "portal-containers-test"
SERVICES = ("identity", "catalog", "dossier", "notify")
WORKERS = tuple(f"{s}-worker" for s in SERVICES)
WEBS = (*(f"{s}-web" for s in SERVICES), "gateway")
CHANNELS = ("sms", "email", "inbox")
# Only these variables of the test's environment reach docker-compose: anything else
# (PORTAL_ENV, AMQP_URL of the host's tests) would override the env file.
PASSED_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "LANG")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def override(health_interval: str = "2s") -> dict[str, Any]:
    """The test's override: frequent (and patient) health checks, no per-phone caps, no
    gateway limits."""
    services: dict[str, Any] = {}
    for name, service in yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))[
        "services"
    ].items():
        check = service.get("healthcheck")
        if check:
            # A shared CI machine under load answers slower than a production host.
            services[name] = {
                "healthcheck": {
                    **check,
                    "interval": health_interval,
                    "timeout": "20s",
                    "retries": 60,
                }
            }
    limits = {f"GATEWAY_RATE_LIMIT_{n.upper()}": "100000/minute" for n in DEFAULT_RATE_LIMITS}
    services["gateway"]["environment"] = limits
    for name in ("notify-web", "notify-worker"):
        services[name]["environment"] = {"NOTIFY_SMS_PER_RECIPIENT_PER_HOUR": "1000000"}
    for name in ("identity-web", "identity-worker"):
        services[name]["environment"] = {
            "IDENTITY_OTP_SENDS_PER_PHONE_PER_HOUR": "1000000",
            "IDENTITY_OTP_RESEND_COOLDOWN_SECONDS": "0",
        }
    return {"services": services}


@dataclass
class Stack:
    workdir: Path
    images: dict[str, str]
    port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.env_file = self.workdir / "compose.env"
        self.definitions = self.workdir / "definitions.local.json"
        self.override_file = self.workdir / "compose.override.yaml"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        """The env file (development: the dev outbox), the images and ports, the override."""
        compose_env.write(self.env_file, self.definitions, force=True, development=True)
        compose_env.set_values(
            self.env_file,
            {
                **self.images,
                "PORTAL_HTTP_BIND": "127.0.0.1",
                "PORTAL_HTTP_PORT": str(self.port),
                "RABBITMQ_MANAGEMENT_PORT": str(self.management_port),
                "RABBITMQ_DEFINITIONS": str(self.definitions),
            },
        )
        self.override_file.write_text(yaml.safe_dump(override()), encoding="utf-8")

    # docker-compose ------------------------------------------------------------------

    def compose(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [
            "docker-compose",
            "--project-name",
            PROJECT,
            "--env-file",
            str(self.env_file),
            "--file",
            str(COMPOSE_FILE),
            "--file",
            str(self.override_file),
            *args,
        ]
        env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker-compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def up(self, *args: str, timeout: float = 420) -> None:
        self.compose("up", "--detach", "--no-build", *args, timeout=timeout)

    def down(self) -> None:
        self.compose(
            "down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=180, check=False
        )

    def containers(self, service: str) -> list[str]:
        listed = self.compose("ps", "--quiet", service, timeout=60)
        return [line for line in listed.stdout.split() if line]

    def logs(self, *services: str, tail: int = 60) -> str:
        return self.compose(
            "logs", "--no-color", "--tail", str(tail), *services, check=False
        ).stdout

    # Containers ----------------------------------------------------------------------

    @staticmethod
    def inspect(container: str, template: str) -> str:
        answer = subprocess.run(
            ["docker", "inspect", "--format", template, container],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return answer.stdout.strip()

    def health(self, container: str) -> str:
        return self.inspect(container, "{{if .State.Health}}{{.State.Health.Status}}{{end}}")

    def wait_healthy(self, services: Iterable[str], timeout: float = 120) -> float:
        """Seconds until every container of these services is running and healthy."""
        started = time.monotonic()
        pending = {c for s in services for c in self.containers(s)}
        while pending:
            pending = {c for c in pending if self.health(c) != "healthy"}
            if not pending:
                break
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not healthy within {timeout} s: {sorted(pending)}")
            time.sleep(0.3)
        return time.monotonic() - started

    def crash(self, container: str) -> None:
        """SIGKILL the container's main process, as a crash or the OOM killer would.

        Not `docker kill`: the engine marks a container it kills as stopped by hand,
        and then no restart policy brings it back (moby's killWithSignal)."""
        pid = int(self.inspect(container, "{{.State.Pid}}"))
        if os.geteuid() == 0:
            os.kill(pid, signal.SIGKILL)
            return
        # Not root: a helper container in the host's PID namespace sends it.
        helper = ["docker", "run", "--rm", "--pid=host", self.images["PORTAL_BASE_IMAGE"]]
        subprocess.run(
            [*helper, "kill", "-KILL", str(pid)],
            capture_output=True,
            timeout=60,
            check=True,
        )

    def restarts(self, container: str) -> int:
        return int(self.inspect(container, "{{.RestartCount}}") or 0)

    def crash_and_wait(self, service: str, timeout: float = 90) -> float:
        """Crash the service's one container; seconds until its restart policy has it
        running and healthy again (a new start: the health state begins anew)."""
        (container,) = self.containers(service)
        started_at = self.inspect(container, "{{.State.StartedAt}}")
        restarts = self.restarts(container)
        crashed = time.monotonic()
        self.crash(container)
        deadline = crashed + timeout
        while self.inspect(container, "{{.State.StartedAt}}") == started_at:
            if time.monotonic() > deadline:
                raise AssertionError(f"{service} was not restarted within {timeout} s")
            time.sleep(0.1)
        assert self.restarts(container) > restarts, f"{service}: started, but not by its policy"
        self.wait_healthy([service], timeout=max(1.0, deadline - time.monotonic()))
        return time.monotonic() - crashed

    # PostgreSQL ----------------------------------------------------------------------

    def postgres_ready(self, container: str) -> bool:
        """Whether PostgreSQL in the container accepts TCP connections (as the services)."""
        if self.inspect(container, "{{.State.Running}}") != "true":
            return False
        probe = subprocess.run(
            ["docker", "exec", container, "pg_isready", "-h", "127.0.0.1", "-U", "postgres"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        return probe.returncode == 0

    def psql(self, database: str, sql: str, timeout: float = 30) -> list[list[str]]:
        """Rows of a query run in the postgres container (tab-separated fields)."""
        (container,) = self.containers("postgres")
        command = ["docker", "exec", container, "psql", "-U", "postgres", "-d", database]
        command += ["-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql]
        answer = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if answer.returncode != 0:
            raise AssertionError(f"psql {database}: {answer.stderr}")
        return [line.split("\t") for line in answer.stdout.splitlines() if line]


def quoted(ids: Iterable[str]) -> str:
    """A SQL list of uuids (test-made ids only: checked, never free text)."""
    values = []
    for value in ids:
        if not all(c in "0123456789abcdef-" for c in value):
            raise ValueError(value)
        values.append(f"'{value}'")
    return ", ".join(values) or "''"


@dataclass
class Accounting:
    """How a set of submitted dossiers was notified (template dossier_submitted)."""

    expected: int
    notified: int  # dossiers with every channel delivered
    duplicates: int  # (dossier, channel) pairs notified more than once
    missing: list[str]
    unsubmitted: list[str]  # dossiers whose submit was confirmed but that are not submitted

    def line(self) -> str:
        return (
            f"submitted {self.expected}, fully notified {self.notified}, "
            f"missing {len(self.missing)}, doubled {self.duplicates}, "
            f"lost submissions {len(self.unsubmitted)}"
        )


def account(
    stack: Stack, dossiers: Sequence[str], template: str = "dossier_submitted"
) -> Accounting:
    rows = stack.psql(
        "notify",
        "SELECT reference, channel, status FROM notification"
        f" WHERE template = '{template}' AND reference IN ({quoted(dossiers)})",
    )
    per_pair = Counter((r[0], r[1]) for r in rows)
    delivered: dict[str, set[str]] = {}
    for reference, channel, status in rows:
        if status == "delivered":
            delivered.setdefault(reference, set()).add(channel)
    complete = {d for d in dossiers if delivered.get(d, set()) >= set(CHANNELS)}
    states = dict(
        (r[0], r[1])
        for r in stack.psql(
            "dossier", f"SELECT id, status FROM dossier WHERE id IN ({quoted(dossiers)})"
        )
    )
    return Accounting(
        expected=len(dossiers),
        notified=len(complete),
        duplicates=sum(1 for n in per_pair.values() if n > 1),
        missing=[d for d in dossiers if d not in complete],
        unsubmitted=[d for d in dossiers if states.get(d) in (None, "draft")],
    )


def wait_notified(
    stack: Stack, dossiers: Sequence[str], timeout: float, template: str = "dossier_submitted"
) -> tuple[Accounting, float]:
    """Poll until every dossier is notified on every channel; (accounting, seconds)."""
    started = time.monotonic()
    while True:
        result = account(stack, dossiers, template)
        elapsed = time.monotonic() - started
        if not result.missing or elapsed > timeout:
            return result, elapsed
        time.sleep(0.5)


class Submitter(threading.Thread):
    """Submits prepared drafts at a steady rate through the gateway, each until answered.

    A submit that meets a dead container (no answer, 502, 503, 504) is sent again, as a
    citizen's browser would; a 409 after such a retry means the first one went through.
    """

    def __init__(
        self,
        stack: Stack,
        token: str,
        drafts: Sequence[str],
        rate: float,
        refill: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.client = PortalClient(stack.gateway_url, timeout=20)
        self.token = token
        self.drafts = list(drafts)
        self.rate = rate
        # Once the prepared drafts are used up, make each next one (until stopped).
        self.refill = refill
        self.refilled = 0
        self.confirmed: list[str] = []
        self.unconfirmed: list[tuple[str, int, str]] = []
        self.retries = 0
        self.refusals: Counter[int] = Counter()
        self._halt = threading.Event()

    def submit_until_answered(self, dossier_id: str, patience: float = 90) -> None:
        deadline = time.monotonic() + patience
        tried = 0
        status, body = 0, ""
        while time.monotonic() < deadline:
            tried += 1
            try:
                answer = self.client.submit(self.token, dossier_id)
                status, body = answer.status_code, answer.text[:200]
            except requests.RequestException as exc:
                status, body = 0, repr(exc)[:200]
            if status == 200 or (status == 409 and tried > 1):
                self.confirmed.append(dossier_id)
                return
            self.refusals[status] += 1
            if status not in (0, 502, 503, 504):
                break
            self.retries += 1
            time.sleep(0.3)
        self.unconfirmed.append((dossier_id, status, body))

    def next_draft(self, patience: float = 90) -> str | None:
        if self.drafts:
            return self.drafts.pop(0)
        if self.refill is None:
            return None
        deadline = time.monotonic() + patience
        while not self._halt.is_set() and time.monotonic() < deadline:
            try:
                draft = self.refill()
            except (AssertionError, requests.RequestException):
                # A container on the way was down: this draft is dropped, not submitted.
                self._halt.wait(0.5)
                continue
            self.refilled += 1
            return draft
        return None

    def run(self) -> None:
        started = time.monotonic()
        n = 0
        while True:
            delay = started + n / self.rate - time.monotonic()
            if self._halt.wait(max(0.0, delay)):
                return
            dossier_id = self.next_draft()
            if dossier_id is None:
                return
            self.submit_until_answered(dossier_id)
            n += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(120)


def prepare_drafts(
    stack: Stack, token: str, agency: str, person: Subscriber, count: int
) -> list[str]:
    """`count` drafts ready to submit (filled, documents attached), made in parallel."""

    def one(_: int) -> str:
        return PortalClient(stack.gateway_url, timeout=30).prepared_draft(token, agency, person)

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(count)))
