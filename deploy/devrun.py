"""`make run`: the whole portal on one machine, from source.

Checks that the portal's ports are free, uses (or starts) RabbitMQ, migrates every
service's database (SQLite files under var/ unless `<SERVICE>_DATABASE_URL` says
otherwise), starts every process of the Procfile (as many copies of each as `--scale`
asks) under supervisord, which restarts any that exits or is killed (with a growing
delay when one keeps dying at start), waits until each worker has declared its queues,
loads the demo data (idempotent: a second run adds nothing), prints the portal URL, the
demo accounts and where the OTPs are, and runs until Ctrl-C or SIGTERM, which stop every
process it started. Each process's output goes to `var/log/<process>.<copy>.log` and,
prefixed with its name, to the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import xmlrpc.client
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import urlparse

from honcho.environ import parse_procfile
from supervisor.xmlrpc import SupervisorTransport

from services.core.config import ConfigError, env_int, parse_amqp_urls

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "deploy" / "demo"
PROCFILE = ROOT / "Procfile"
SERVICES = ("identity", "catalog", "dossier", "notify")
GATEWAY_PREFIX = {"identity": "identity", "catalog": "catalog", "dossier": "dossiers"}
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
READY_TIMEOUT = 120
STOP_TIMEOUT = 20
# The port of each process, as an offset from the first port (8000 by default).
PORT_OFFSETS = {
    "gateway": 0,
    "identity-web": 1,
    "catalog-web": 2,
    "dossier-web": 3,
    "notify-web": 4,
    "carrier": 9,
    "identity-worker": 101,
    "catalog-worker": 102,
    "dossier-worker": 103,
    "notify-worker": 104,
}
# Copies of one process (`--scale`): web processes (gunicorn) share their port with
# SO_REUSEPORT, the kernel spreading connections between them; each worker copy serves
# health on its own port, `WORKER_COPY_STRIDE` above the previous copy's.
MAX_COPIES = 9
WORKER_COPY_STRIDE = 10
# The carrier stand-in is one registry; a second copy would only collide on its port.
NOT_SCALED = ("carrier",)


class DevRunError(Exception):
    """Something `make run` cannot go on without; the message says what to do."""


@dataclass(frozen=True)
class Ports:
    """The local ports of every process of the Procfile."""

    first: int = 8000

    def of(self, process: str, copy: int = 1) -> int:
        """The port of `process`; a worker's copies each have their own health port."""
        stride = WORKER_COPY_STRIDE if process.endswith("-worker") else 0
        return self.first + PORT_OFFSETS[process] + stride * (copy - 1)

    def all(self, scale: Mapping[str, int] | None = None) -> dict[str, int]:
        """Every port `make run` binds, by process (`<process>.<copy>` for further copies)."""
        ports = {name: self.of(name) for name in PORT_OFFSETS}
        for name, copies in (scale or {}).items():
            if name.endswith("-worker"):
                ports.update({f"{name}.{n}": self.of(name, n) for n in range(2, copies + 1)})
        return ports

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.of(process)}"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_ports_free(ports: Ports, scale: Mapping[str, int] | None = None) -> None:
    """Refuse to start, naming each process whose port another program holds."""
    taken = [
        f"{port} ({name})" for name, port in ports.all(scale).items() if not port_is_free(port)
    ]
    if taken:
        raise DevRunError(
            f"port(s) already in use: {', '.join(taken)}. Is another 'make run' or the "
            "compose deployment running? Stop it, or start on other ports with "
            "'python -m deploy.devrun --first-port 18000'."
        )


def environment(
    ports: Ports, base: Mapping[str, str], var_dir: Path = ROOT / "var"
) -> dict[str, str]:
    """The environment every process shares: dev defaults, under what the caller set."""
    env = {
        **{f"{s.upper()}_DATABASE_URL": f"sqlite:///{var_dir / (s + '.db')}" for s in SERVICES},
        "DOSSIER_BLOB_DIR": str(var_dir / "blobs" / "dossier"),
        "PORTAL_ENV": "development",
        "LOG_FORMAT": "text",
        "AMQP_URL": DEFAULT_AMQP_URL,
        "NOTIFY_SMS_PROVIDER": "dev-outbox",
        "NOTIFY_EMAIL_PROVIDER": "dev-outbox",
        "NOTIFY_DEV_OUTBOX_ENDPOINT": "true",
        # Web processes yield the CPU to the workers (gunicorn.conf.py).
        "WEB_NICE": "10",
        "CARRIER_REGISTRY_URL": ports.url("carrier"),
        "CATALOG_URL": ports.url("catalog-web"),
        "IDENTITY_JWKS_URL": f"{ports.url('identity-web')}/api/identity/.well-known/jwks.json",
        "TOKEN_ISSUER": f"{ports.url('gateway')}/api/identity",
        "GATEWAY_NOTIFY_URL": ports.url("notify-web"),
        **{f"GATEWAY_{p.upper()}_URL": ports.url(f"{s}-web") for s, p in GATEWAY_PREFIX.items()},
        **{f"{s.upper()}_WORKER_HEALTH_PORT": str(ports.of(f"{s}-worker")) for s in SERVICES},
        **dict(base),
    }
    # The Procfile's commands bind these; they follow --first-port, whatever the caller set.
    env.update(
        {
            f"{name.upper().replace('-', '_')}_PORT": str(port)
            for name, port in ports.all().items()
            if not name.endswith("-worker")
        }
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return env


def broker_answers(url: str) -> bool:
    """Does any broker of AMQP_URL (one URL, or a cluster's nodes) accept a connection?"""
    for each in parse_amqp_urls(url):
        parsed = urlparse(each)
        try:
            with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), 2):
                return True
        except OSError:
            continue
    return False


def ensure_broker(url: str) -> None:
    """Use the broker at `url`; start a local rabbitmq-server if none answers."""
    if broker_answers(url):
        return
    server = shutil.which("rabbitmq-server")
    if server is None:
        raise DevRunError(
            f"RabbitMQ does not answer at {url} (AMQP_URL) and rabbitmq-server is not "
            "installed: 'apt-get install rabbitmq-server', or run the whole portal in "
            "containers with 'docker compose -f deploy/compose.yaml up'."
        )
    print("RabbitMQ does not answer: starting the local rabbitmq-server ...", flush=True)
    subprocess.run([server, "-detached"], check=False)
    deadline = time.monotonic() + 90
    while not broker_answers(url):
        if time.monotonic() > deadline:
            raise DevRunError(f"rabbitmq-server was started but does not answer at {url}.")
        time.sleep(1)
    if diagnostics := shutil.which("rabbitmq-diagnostics"):
        # The port opens a moment before the broker takes work.
        subprocess.run([diagnostics, "-q", "await_startup"], check=False, timeout=60)


def manage(service: str, command: str, env: Mapping[str, str]) -> None:
    args = [sys.executable, "-m", f"services.{service}.manage", command]
    result = subprocess.run(args, cwd=ROOT, env=dict(env), check=False)
    if result.returncode != 0:
        raise DevRunError(f"'{service} {command}' failed with exit code {result.returncode}")


def worker_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200 and all(json.load(response).values())
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class Supervision:
    """How supervisord restarts a process that exits or is killed (`RUN_START_*`).

    A process that dies after running `start_seconds` is started again at once; one that
    dies sooner waits 1 s, then 2 s, 3 s ... before each new start, and after
    `start_retries` such deaths in a row supervisord gives up on it (FATAL, said on the
    terminal) while every other process keeps serving.
    """

    start_seconds: int = 10
    start_retries: int = 20
    stop_seconds: int = STOP_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Supervision:
        d = cls()
        try:
            return cls(
                start_seconds=env_int(env, "RUN_START_SECONDS", d.start_seconds, minimum=1),
                start_retries=env_int(env, "RUN_START_RETRIES", d.start_retries, minimum=0),
            )
        except ConfigError as error:
            raise DevRunError(str(error)) from error


def procfile(path: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's processes (honcho's parser), name: command, in order."""
    return dict(parse_procfile(path.read_text(encoding="utf-8")).processes)


def parse_scale(text: str, known: Mapping[str, str]) -> dict[str, int]:
    """`notify-worker=2 dossier-worker=3` (spaces or commas) as {process: copies}."""
    scale: dict[str, int] = {}
    for item in text.replace(",", " ").split():
        name, sep, count = item.partition("=")
        if not sep or name not in known:
            raise DevRunError(
                f"SCALE takes process=copies with a process of the Procfile "
                f"({', '.join(known)}), got {item!r}"
            )
        if name in NOT_SCALED:
            raise DevRunError(f"{name} runs as one copy only (it is a stand-in), got {item!r}")
        if not count.isdigit() or not 1 <= int(count) <= MAX_COPIES:
            raise DevRunError(f"SCALE: copies are 1 to {MAX_COPIES}, got {item!r}")
        scale[name] = int(count)
    return scale


@dataclass(frozen=True)
class Program:
    """One copy of one Procfile process, as supervisord runs it."""

    process: str
    copy: int
    command: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.process}.{self.copy}"

    @property
    def web(self) -> bool:
        return self.command.split()[0] == "gunicorn"


def programs(processes: Mapping[str, str], ports: Ports, scale: Mapping[str, int]) -> list[Program]:
    """Every copy of every process; web copies share their port (SO_REUSEPORT)."""
    found = []
    for process, command in processes.items():
        copies = scale.get(process, 1)
        # SO_REUSEPORT on every gunicorn: copies share the port, and a master started again
        # binds it at once while the workers of the killed one finish their requests.
        if command.split()[0] == "gunicorn" and "--reuse-port" not in command:
            command = command.replace("gunicorn", "gunicorn --reuse-port", 1)
        for copy in range(1, copies + 1):
            env = {}
            if process.endswith("-worker"):
                service = process.removesuffix("-worker").upper()
                env[f"{service}_WORKER_HEALTH_PORT"] = str(ports.of(process, copy))
            found.append(Program(process, copy, command, env))
    return found


@dataclass(frozen=True)
class RunDir:
    """Where supervisord's configuration, socket and every process's log live."""

    var_dir: Path

    @property
    def config(self) -> Path:
        return self.var_dir / "supervisor" / "supervisord.conf"

    @property
    def socket(self) -> Path:
        # A unix socket's path has at most 107 bytes: a deep checkout gets one in /tmp.
        path = self.var_dir / "supervisor" / "supervisord.sock"
        if len(str(path)) <= 100:
            return path
        digest = hashlib.sha256(str(self.var_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"portal-run-{digest}.sock"

    @property
    def logs(self) -> Path:
        return self.var_dir / "log"

    def log(self, program: Program) -> Path:
        return self.logs / f"{program.name}.log"


def _value(text: str) -> str:
    """A value for supervisord's configuration: its `%(name)s` expansion escaped."""
    return text.replace("%", "%%")


def supervisor_config(run: RunDir, all_programs: list[Program], supervision: Supervision) -> str:
    """supervisord's configuration: each program in a group named after its process.

    Commands run through `sh -c 'exec ...'` so that the Procfile's `${VAR:-default}` are
    expanded and the supervised pid is the process itself (a SIGKILL reaches it).
    """
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_value(str(run.logs / 'supervisord.log'))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={_value(str(run.config.with_name('supervisord.pid')))}",
        f"directory={_value(str(ROOT))}",
        "loglevel=info",
        # As root: say so, or supervisord warns about it at each start.
        *(["user=root"] if os.geteuid() == 0 else []),
        "",
        "[unix_http_server]",
        f"file={_value(str(run.socket))}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(str(run.socket))}",
    ]
    groups: dict[str, list[str]] = {}
    for program in all_programs:
        groups.setdefault(program.process, []).append(program.name)
        environment = ",".join(f'{k}="{v}"' for k, v in program.environment.items())
        lines += [
            "",
            f"[program:{program.name}]",
            f"command=/bin/sh -c {_value(shlex.quote('exec ' + program.command))}",
            f"directory={_value(str(ROOT))}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={supervision.start_seconds}",
            f"startretries={supervision.start_retries}",
            # gunicorn stops at once on SIGINT; the workers stop gracefully on SIGTERM.
            f"stopsignal={'INT' if program.web else 'TERM'}",
            f"stopwaitsecs={supervision.stop_seconds}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_value(str(run.log(program)))}",
            "stdout_logfile_maxbytes=10MB",
            "stdout_logfile_backups=2",
            *([f"environment={_value(environment)}"] if environment else []),
        ]
    for group, names in groups.items():
        lines += ["", f"[group:{group}]", f"programs={','.join(names)}"]
    return "\n".join(lines) + "\n"


class LogFollower(threading.Thread):
    """Echoes every process's new log lines to the terminal, prefixed with its name."""

    def __init__(self, files: Mapping[str, Path], out: TextIO, interval: float = 0.25) -> None:
        super().__init__(name="log-follower", daemon=True)
        self.files = dict(files)
        self.out = out
        self.interval = interval
        self.width = max((len(name) for name in self.files), default=0)
        # What is already there is an earlier run's.
        self.positions = {
            name: path.stat().st_size if path.exists() else 0 for name, path in self.files.items()
        }
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.follow()
        self.follow()

    def follow(self) -> None:
        for name, path in self.files.items():
            try:
                size = path.stat().st_size
            except OSError:
                continue
            position = self.positions[name]
            if size < position:  # rotated by supervisord
                position = 0
            if size == position:
                continue
            with path.open("rb") as f:
                f.seek(position)
                chunk = f.read(size - position)
            whole = chunk.rfind(b"\n") + 1
            self.positions[name] = position + whole
            for line in chunk[:whole].decode(errors="replace").splitlines():
                self.out.write(f"{name:<{self.width}} | {line}\n")
        self.out.flush()

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=5)


def start_supervisor(
    run: RunDir, all_programs: list[Program], supervision: Supervision, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """supervisord in the foreground, in its own session: Ctrl-C reaches only us."""
    run.config.parent.mkdir(parents=True, exist_ok=True)
    run.logs.mkdir(parents=True, exist_ok=True)
    run.config.write_text(supervisor_config(run, all_programs, supervision), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "--configuration", str(run.config)],
        cwd=ROOT,
        env=dict(env),
        start_new_session=True,
    )


def wait_for_workers(
    ports: Ports, scale: Mapping[str, int], supervisor: subprocess.Popen[bytes]
) -> None:
    """Every worker connected: its queues and bindings exist before any demo event."""
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = {
        f"{s}-worker.{n}": ports.of(f"{s}-worker", n)
        for s in SERVICES
        for n in range(1, scale.get(f"{s}-worker", 1) + 1)
    }
    while waiting:
        if supervisor.poll() is not None:
            raise DevRunError("supervisord stopped during start-up; see above")
        if time.monotonic() > deadline:
            raise DevRunError(f"workers not ready after {READY_TIMEOUT} s: {', '.join(waiting)}")
        waiting = {s: p for s, p in waiting.items() if not worker_ready(p)}
        time.sleep(0.5)


def session_members(sid: int) -> list[int]:
    """Pids of the processes in session `sid` (supervisord's: every process it started,
    and the workers a killed gunicorn master left behind)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if os.getsid(int(entry.name)) == sid:
                found.append(int(entry.name))
    return found


def rpc(run: RunDir) -> Any:
    """supervisord's XML-RPC interface (what supervisorctl uses), over its unix socket."""
    transport = SupervisorTransport(None, None, f"unix://{run.socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor


def stop(
    supervisor: subprocess.Popen[bytes], run: RunDir, supervision: Supervision = Supervision()
) -> int:
    """Every program told to stop at once (its process group: SIGINT for gunicorn, SIGTERM
    for the others, SIGKILL after `stop_seconds`), then SIGTERM to supervisord, which
    exits once they are gone; anything left in its session is killed after.

    supervisord's own shutdown would stop one group after another, as slow as their sum.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    try:
        rpc(run).stopAllProcesses(False)
    except (OSError, xmlrpc.client.Error) as error:
        print(f"make run: supervisord did not take the stop ({error}); stopping it", flush=True)
    finally:
        socket.setdefaulttimeout(previous)
    with contextlib.suppress(ProcessLookupError):
        supervisor.send_signal(signal.SIGTERM)
    try:
        code = supervisor.wait(timeout=supervision.stop_seconds + 10)
    except subprocess.TimeoutExpired:
        supervisor.kill()
        code = supervisor.wait()
    deadline = time.monotonic() + 5
    while (left := session_members(supervisor.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return code


def demo_accounts(limit: int = 3) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with (DEMO / "subscribers.csv").open(encoding="utf-8") as f:
        citizens = list(csv.DictReader(f))[:limit]
    with (DEMO / "agencies.csv").open(encoding="utf-8") as f:
        agencies = {row["code"]: row for row in csv.DictReader(f)}
    with (DEMO / "staff.csv").open(encoding="utf-8") as f:
        staff = list(csv.DictReader(f))
    # The admin first, then officers of communes: they receive the "khai sinh" dossiers.
    levels = ("", "commune", "district", "department", "province", "ministry")

    def rank(row: dict[str, str]) -> int:
        level = agencies.get(row["agency_code"], {}).get("level", "")
        return levels.index(level) if level in levels else len(levels)

    return citizens, sorted(staff, key=rank)[:limit]


def banner(ports: Ports, run: RunDir | None = None) -> str:
    """What a newcomer needs on screen once the portal runs."""
    run = run or RunDir(ROOT / "var")
    portal = ports.url("gateway")
    citizens, staff = demo_accounts()
    phone = citizens[0]["phone"].replace("+84", "0")
    lines = [
        "",
        f"The portal is running at {portal}/  (Ctrl-C stops everything)",
        "",
        "Demo citizens the carrier stand-in knows (register with one of them):",
        *(
            f"  {c['citizen_id']}  {c['full_name']}, born {c['date_of_birth']},"
            f" phone {c['phone'].replace('+84', '0')}"
            for c in citizens
        ),
        f"  ... all in {DEMO.relative_to(ROOT)}/subscribers.csv",
        "Demo staff (log in with username, password, then the OTP sent to their phone):",
        *(
            f"  {s['username']} / {s['password']}  ({s['role']} {s['agency_code']})".replace(
                " )", ")"
            )
            for s in staff
        ),
        f"  ... one officer per demo agency in {DEMO.relative_to(ROOT)}/staff.csv",
        "",
        "Reading OTPs (every SMS and e-mail is kept in the dev outbox, nothing is sent):",
        f"  in the portal:  {portal}/#/hop-thu-thu-nghiem",
        f"  the API:        {portal}/api/notify/dev/outbox?to={phone}",
        "",
        "Each service directly: "
        + ", ".join(f"{s} {ports.url(f'{s}-web')}" for s in SERVICES)
        + f"; carrier stand-in {ports.url('carrier')}",
        "",
        "A process that exits or is killed is started again. Each one's output is in",
        f"  {_shown(run.logs)}/<process>.<copy>.log; their state and restarts:",
        f"  {_shown(Path(sys.executable).with_name('supervisorctl'))} -c {_shown(run.config)}"
        " status",
        "",
    ]
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """A path as short as it can be said from the project folder."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.devrun",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--first-port", type=int, default=8000, help="the gateway's port; the others follow it"
    )
    parser.add_argument(
        "--scale",
        default="",
        help="copies of processes, e.g. 'notify-worker=2 dossier-worker=3' (make run SCALE=...)",
    )
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=ROOT / "var",
        help="SQLite files, blobs, logs and supervisord's files (default: var/)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ports = Ports(args.first_port)
    run = RunDir(args.var_dir.resolve())
    env = environment(ports, os.environ, run.var_dir)
    supervisor: subprocess.Popen[bytes] | None = None
    follower: LogFollower | None = None
    supervision = Supervision()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Set explicitly: a shell that starts us in the background ignores SIGINT, and the
    # processes we start would inherit that and outlive a Ctrl-C (a handler is not inherited).
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        processes = procfile()
        scale = parse_scale(args.scale, processes)
        supervision = Supervision.from_env(env)
        all_programs = programs(processes, ports, scale)
        check_ports_free(ports, scale)
        ensure_broker(env["AMQP_URL"])
        run.var_dir.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            manage(service, "migrate", env)
        run.logs.mkdir(parents=True, exist_ok=True)
        follower = LogFollower({p.name: run.log(p) for p in all_programs}, sys.stdout)
        follower.start()
        supervisor = start_supervisor(run, all_programs, supervision, env)
        wait_for_workers(ports, scale, supervisor)
        for service in SERVICES:
            manage(service, "load-demo", env)
        print(banner(ports, run), flush=True)
        supervisor.wait()
        return 1  # supervisord only ends by itself when it failed
    except DevRunError as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nstopping every process of the portal ...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            stop(supervisor, run, supervision)
        if follower is not None:
            follower.stop()


if __name__ == "__main__":
    sys.exit(main())
