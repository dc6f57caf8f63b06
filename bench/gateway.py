"""Gateway overhead benchmark: `python -m bench.gateway`.

Starts the catalogue service (gunicorn, as the Procfile runs it, SQLite in a temp dir),
this gateway in front of it (gunicorn with the Procfile's gateway options), and nginx
(the Debian package, a non-daemon child with its own config) proxying the same
service with keep-alive upstream connections. The same load generator (wrk) then
calls one small JSON call, GET /api/catalog/fields, direct, through the gateway and
through nginx, in one run:

- throughput: BENCH_CONNECTIONS (default 32) keep-alive connections for
  BENCH_SECONDS (default 5) each, best of BENCH_ROUNDS (default 3) alternating rounds;
- latency: one connection, p50 and p99, best p50 of BENCH_ROUNDS interleaved runs;
  "added" is the proxy's p50 minus direct's.

Targets (issue 7): the gateway at least 70% of nginx's throughput, < 1 ms added p50.
Needs `nginx` and `wrk` (apt-get install nginx wrk).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.portal import procfile_command

ROOT = Path(__file__).resolve().parents[1]
PATH = "/api/catalog/fields"
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
NGINX_CONF = """
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream catalog {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location /api/catalog/ {{
      proxy_pass http://catalog;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""


@dataclass
class Result:
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")


def with_bind(command: list[str], port: int) -> list[str]:
    args = list(command)
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    args[0] = str(Path(sys.executable).with_name(args[0]))
    return args


@contextmanager
def processes(work: Path) -> Iterator[dict[str, int]]:
    ports = {name: free_port() for name in ("catalog", "gateway", "nginx")}
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": f"sqlite:///{work / 'catalog.db'}",
        "GATEWAY_CATALOG_URL": f"http://127.0.0.1:{ports['catalog']}",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "-m", "services.catalog.manage", "load-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    (work / "nginx.conf").write_text(
        NGINX_CONF.format(dir=work, upstream=ports["catalog"], port=ports["nginx"])
    )
    started: list[subprocess.Popen[bytes]] = []
    logs = (work / "processes.log").open("ab")
    try:
        for name in ("catalog-web", "gateway"):
            port = ports["catalog" if name == "catalog-web" else "gateway"]
            command = with_bind(procfile_command(name), port)
            started.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=logs, stderr=logs))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        started.append(
            subprocess.Popen(
                [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"],
                stdout=logs,
                stderr=logs,
            )
        )
        for port in ports.values():
            wait_answering(f"http://127.0.0.1:{port}{PATH}")
        yield ports
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not found:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def wrk(port: int, connections: int, seconds: int) -> Result:
    threads = min(2, connections)
    output = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            f"http://127.0.0.1:{port}{PATH}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    if "Non-2xx" in output or "Socket errors" in output:
        print(f"  warning: errors in the run on port {port}:\n{output}", file=sys.stderr)
    return Result(rps, _ms(p50), _ms(p99))


def main() -> int:
    if not shutil.which("wrk") or not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        print("bench.gateway needs nginx and wrk: apt-get install -y nginx wrk", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp, processes(Path(tmp)) as ports:
        targets = {"direct": ports["catalog"], "gateway": ports["gateway"], "nginx": ports["nginx"]}
        for port in targets.values():
            wrk(port, CONNECTIONS, 1)  # warm up: connections, pools, imports
        throughput = {name: Result() for name in targets}
        for _ in range(ROUNDS):
            for name, port in targets.items():
                result = wrk(port, CONNECTIONS, SECONDS)
                if result.requests_per_second > throughput[name].requests_per_second:
                    throughput[name] = result
        latency = {name: Result(p50_ms=float("inf")) for name in targets}
        for _ in range(ROUNDS):  # interleaved, best p50 of each: the machine is shared
            for name, port in targets.items():
                result = wrk(port, 1, SECONDS)
                if result.p50_ms < latency[name].p50_ms:
                    latency[name] = result
    print(f"GET {PATH}: {CONNECTIONS} connections x {SECONDS} s, best of {ROUNDS} runs; 1-conn too")
    print(f"{'path':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'1-conn p50':>12}{'p99':>8}")
    for name in targets:
        t, one = throughput[name], latency[name]
        print(
            f"{name:<10}{t.requests_per_second:>10.0f}{t.p50_ms:>10.2f}{t.p99_ms:>10.2f}"
            f"{one.p50_ms:>12.3f}{one.p99_ms:>8.2f}"
        )
    ratio = throughput["gateway"].requests_per_second / throughput["nginx"].requests_per_second
    added = latency["gateway"].p50_ms - latency["direct"].p50_ms
    added_nginx = latency["nginx"].p50_ms - latency["direct"].p50_ms
    print(f"gateway / nginx throughput: {ratio:.0%} (target >= 70%)")
    print(
        f"added p50 at one connection: gateway {added:.3f} ms (target < 1 ms), "
        f"nginx {added_nginx:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
