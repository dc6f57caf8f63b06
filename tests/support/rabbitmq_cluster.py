"""A three-node cluster of the portal's RabbitMQ image, for the container tests.

The image is the one `make images` builds (the container tests' `images` fixture). The
cluster is deploy/rabbitmq/cluster.compose.yaml, started under a project name of its
own, with its ports published on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "rabbitmq" / "cluster.compose.yaml"
NODES = ("rabbit-1", "rabbit-2", "rabbit-3")
# One scheduler and no busy waiting: three nodes share a small machine with the test.
ERL_ARGS = "+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"


class DockerError(RuntimeError):
    """A docker or compose command failed; the message carries its output."""


def run(args: Sequence[str], timeout: float, **kwargs: Any) -> str:
    """Run a command, return its stdout; DockerError with its output if it fails."""
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired as exc:
        raise DockerError(f"{' '.join(args)} took more than {timeout} s") from exc
    if done.returncode != 0:
        raise DockerError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def compose_command() -> list[str] | None:
    """docker-compose 1.29 (Debian) or the compose v2 plugin, whichever is installed."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and _succeeds(["docker", "compose", "version"]):
        return ["docker", "compose"]
    return None


def _succeeds(args: list[str]) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class Cluster:
    """Three RabbitMQ nodes of cluster.compose.yaml under a compose project of their own."""

    image: str
    project: str = field(default_factory=lambda: f"portalcluster{uuid.uuid4().hex[:8]}")
    user: str = "portal-admin"
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    amqp_ports: dict[str, int] = field(default_factory=dict)
    management_ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports = free_ports(2 * len(NODES))
        self.amqp_ports = dict(zip(NODES, ports[: len(NODES)], strict=True))
        self.management_ports = dict(zip(NODES, ports[len(NODES) :], strict=True))
        compose = compose_command()
        assert compose is not None
        self._compose = [*compose, "--project-name", self.project, "--file", str(COMPOSE_FILE)]
        self._env = {
            **os.environ,
            "RABBITMQ_IMAGE": self.image,
            "RABBITMQ_ERLANG_COOKIE": secrets.token_hex(32),
            "RABBITMQ_DEFAULT_USER": self.user,
            "RABBITMQ_DEFAULT_PASS": self.password,
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": ERL_ARGS,
        }
        for node in NODES:
            prefix = node.upper().replace("-", "_")
            self._env[f"{prefix}_AMQP_PORT"] = str(self.amqp_ports[node])
            self._env[f"{prefix}_MANAGEMENT_PORT"] = str(self.management_ports[node])
        self._containers: dict[str, str] = {}

    # -- compose -----------------------------------------------------------------------

    def compose(self, *args: str, timeout: float = 120) -> str:
        return run([*self._compose, *args], timeout, env=self._env)

    def up(self, timeout: float = 180) -> None:
        """Start the three nodes; return once every one runs in one cluster."""
        self.compose("up", "--detach", timeout=timeout)
        self.wait_for_cluster(set(NODES), timeout=timeout)

    def down(self) -> None:
        self.compose("down", "--volumes", "--timeout", "5", timeout=120)

    def logs(self, tail: int = 40) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", str(tail), timeout=30)
        except DockerError as exc:
            return str(exc)

    def container(self, node: str) -> str:
        if node not in self._containers:
            self._containers[node] = self.compose("ps", "-q", node, timeout=30).strip()
        return self._containers[node]

    def stop(self, node: str) -> None:
        """docker stop: the node shuts down cleanly (SIGTERM)."""
        run(["docker", "stop", "--time", "30", self.container(node)], 60)

    def kill(self, node: str) -> None:
        """docker kill: the node dies at once (SIGKILL), its connections with it."""
        run(["docker", "kill", self.container(node)], 30)

    def start(self, node: str) -> None:
        run(["docker", "start", self.container(node)], 60)

    # -- addresses and the management API ----------------------------------------------

    def amqp_url(self, node: str) -> str:
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.amqp_ports[node]}/%2F"

    @property
    def amqp_urls(self) -> str:
        """AMQP_URL naming every node, as the services are configured."""
        return ",".join(self.amqp_url(node) for node in NODES)

    def api(self, node: str, path: str, timeout: float = 5) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.management_ports[node]}/api/{path}"
        )
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)

    def running_nodes(self, asked: str) -> set[str]:
        """The nodes `asked` sees running in its cluster (short names: rabbit-1, ...)."""
        return {
            node["name"].split("@", 1)[1] for node in self.api(asked, "nodes") if node["running"]
        }

    def wait_for_cluster(self, nodes: set[str], timeout: float = 120) -> None:
        """Until every node of `nodes` answers and sees exactly `nodes` running."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if all(self.running_nodes(node) == nodes for node in nodes):
                    return
            except OSError:
                pass  # a node still booting: its management port does not answer yet
            if time.monotonic() > deadline:
                raise DockerError(f"the cluster did not reach {sorted(nodes)} in {timeout} s")
            time.sleep(1)

    def queue(self, node: str, name: str) -> dict[str, Any]:
        return dict(self.api(node, f"queues/%2F/{urllib.parse.quote(name, safe='')}"))
