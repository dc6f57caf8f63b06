"""A national portal and provincial portals on one machine, federated as in production.

Each deployment gets its own virtual host on the local broker (standing in for its
own broker), its own databases and ports. The provincial vhosts get the queue of
deploy/federation/province.definitions.json and the national vhost one shovel per
province (deploy/federation/shovels.py), through the management HTTP API; the
provinces trust the national identity (TOKEN_TRUSTED_ISSUERS) and the national
gateway's registry lists the provinces' gateways.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from deploy.federation.shovels import apply, national_definitions, province_definitions
from harness.portal import PortalDeployment

PROVINCE_NAMES = {"38": ("Thanh Hóa", "H56"), "42": ("Hà Tĩnh", "H27")}
MANAGEMENT_PORT = 15672
# A shared, busy machine starts some twenty processes slowly.
START_TIMEOUT = 180.0


@dataclass
class Broker:
    """The local broker's AMQP URL and its management API (one vhost per deployment)."""

    amqp_url: str
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    @property
    def auth(self) -> tuple[str, str]:
        parts = urlsplit(self.amqp_url)
        return parts.username or "guest", parts.password or "guest"

    @property
    def management_url(self) -> str:
        return f"http://{urlsplit(self.amqp_url).hostname}:{MANAGEMENT_PORT}"

    def vhost(self, name: str) -> str:
        return f"fed-{self.run}-{name}"

    def url(self, vhost: str) -> str:
        parts = urlsplit(self.amqp_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))

    def create_vhost(self, vhost: str) -> None:
        base = f"{self.management_url}/api"
        requests.put(f"{base}/vhosts/{quote(vhost, safe='')}", auth=self.auth, timeout=10)
        requests.put(
            f"{base}/permissions/{quote(vhost, safe='')}/{self.auth[0]}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=self.auth,
            timeout=10,
        ).raise_for_status()

    def delete_vhost(self, vhost: str) -> None:
        url = f"{self.management_url}/api/vhosts/{quote(vhost, safe='')}"
        with suppress(requests.RequestException):
            requests.delete(url, auth=self.auth, timeout=10)

    def shovels(self, vhost: str) -> list[dict[str, object]]:
        url = f"{self.management_url}/api/shovels/{quote(vhost, safe='')}"
        answer: list[dict[str, object]] = requests.get(url, auth=self.auth, timeout=10).json()
        return answer


@dataclass
class Federation:
    broker: Broker
    national: PortalDeployment
    provinces: dict[str, PortalDeployment]

    @property
    def national_issuer(self) -> str:
        return f"{self.national.gateway_url}/api/identity"


def _start_all(deployments: Sequence[PortalDeployment]) -> None:
    errors: list[BaseException] = []

    def start(deployment: PortalDeployment) -> None:
        try:
            deployment.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in deployments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@contextmanager
def running_federation(
    base_dir: Path, amqp_url: str, provinces: Sequence[str] = ("38", "42")
) -> Iterator[Federation]:
    """A national deployment and provincial ones, started together and stopped after."""
    broker = Broker(amqp_url)
    vhosts = {name: broker.vhost(name) for name in ("national", *provinces)}
    for vhost in vhosts.values():
        broker.create_vhost(vhost)
    registry = base_dir / "provinces.yaml"
    national = PortalDeployment(
        base_dir=base_dir / "national",
        amqp_url=broker.url(vhosts["national"]),
        role="national",
        namespace="",
        env={"GATEWAY_PROVINCES_FILE": str(registry)},
        # The union must come from the provinces' events alone.
        demo_services=("identity",),
        # What the journey needs nationally: login (OTP by SMS), catalogue, lookup routing.
        services=("identity", "notify", "catalog"),
        start_timeout=START_TIMEOUT,
    )
    national.assign_ports()  # the provinces need its identity's port now
    national_issuer = f"{national.gateway_url}/api/identity"
    national_jwks = f"{national.service_url('identity')}/api/identity/.well-known/jwks.json"
    members: dict[str, PortalDeployment] = {}
    for code in provinces:
        member = PortalDeployment(
            base_dir=base_dir / code,
            amqp_url=broker.url(vhosts[code]),
            role="province",
            province=code,
            namespace="",
            env={"TOKEN_TRUSTED_ISSUERS": f"{national_issuer}={national_jwks}"},
            # Filing needs the catalogue and dossiers; a second province only its catalogue.
            services=("catalog", "dossier") if code == provinces[0] else ("catalog",),
            demo_services=("catalog",),
            start_timeout=START_TIMEOUT,
        )
        member.assign_ports()
        members[code] = member
        apply(broker.management_url, province_definitions(vhosts[code]), broker.auth)
    lines = ["provinces:"]
    for code, member in members.items():
        name, unit = PROVINCE_NAMES[code]
        lines.append(
            f'  - {{code: "{code}", name: {name}, agency_unit: {unit}, '
            f'base_url: "{member.gateway_url}"}}'
        )
    base_dir.mkdir(parents=True, exist_ok=True)
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    federation = Federation(broker, national, members)
    try:
        _start_all([national, *members.values()])
        # Shovels last: the national exchange exists once its services declared it.
        shovels = national_definitions(
            {code: broker.url(vhosts[code]) for code in members},
            vhost=vhosts["national"],
            dest_uri=broker.url(vhosts["national"]),
        )
        apply(broker.management_url, shovels, broker.auth)
        yield federation
    finally:
        for deployment in (national, *members.values()):
            deployment.stop()
        for vhost in vhosts.values():
            broker.delete_vhost(vhost)
