"""Broker definitions that carry the provinces' catalogue events to the national broker.

RabbitMQ's shovel plugin does the carrying (no forwarder of ours): on each provincial
broker a durable quorum queue `federation.catalog` is bound to `portal.events` for
`catalog.procedure.*`; on the national broker one dynamic shovel per province moves
that queue's messages into the national `portal.events`, keeping their routing keys
and properties, acknowledging at the source only once the national broker confirmed.

    python -m deploy.federation.shovels province > province.json      # each province
    python -m deploy.federation.shovels national \\
        --province 38=amqps://shovel:...@rabbitmq.thanhhoa/ \\
        --province 42=amqps://shovel:...@rabbitmq.hatinh/ > national.json

Import each file with `rabbitmqctl import_definitions FILE` (or the management UI);
`--apply URL` puts them through the management HTTP API instead. The national file's
destination is the national broker itself (`amqp://` = the local node).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from services.core.bus import Names
from services.core.bus.topology import UNROUTED_ARGUMENTS, UNROUTED_SUFFIX
from services.core.contracts.catalog import PROCEDURE_EVENTS

FEDERATION_QUEUE = "federation.catalog"
CATALOG_EVENTS = PROCEDURE_EVENTS


def province_definitions(vhost: str = "/", namespace: str = "") -> dict[str, Any]:
    """The provincial broker's side: the events exchange and the queue the shovel drains."""
    names = Names(namespace)
    unrouted = f"{namespace}{UNROUTED_SUFFIX}"
    queue = f"{namespace}{FEDERATION_QUEUE}"
    return {
        "exchanges": [
            {
                "name": unrouted,
                "vhost": vhost,
                "type": "fanout",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            },
            {
                "name": names.events_exchange,
                "vhost": vhost,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                # As the services declare it (services/core/bus/topology.py).
                "arguments": {"alternate-exchange": unrouted},
            },
        ],
        "queues": [
            {
                "name": unrouted,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": dict(UNROUTED_ARGUMENTS),
            },
            {
                "name": queue,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "quorum"},
            },
        ],
        "bindings": [
            {
                "source": unrouted,
                "vhost": vhost,
                "destination": unrouted,
                "destination_type": "queue",
                "routing_key": "",
                "arguments": {},
            },
            *(
                {
                    "source": names.events_exchange,
                    "vhost": vhost,
                    "destination": queue,
                    "destination_type": "queue",
                    "routing_key": event,
                    "arguments": {},
                }
                for event in CATALOG_EVENTS
            ),
        ],
    }


def shovel_value(source_uri: str, dest_uri: str = "amqp://", namespace: str = "") -> dict[str, Any]:
    """One dynamic shovel: a province's federation queue into the national events exchange."""
    return {
        "src-protocol": "amqp091",
        "src-uri": source_uri,
        "src-queue": f"{namespace}{FEDERATION_QUEUE}",
        "src-prefetch-count": 100,
        "dest-protocol": "amqp091",
        "dest-uri": dest_uri,
        "dest-exchange": Names(namespace).events_exchange,
        # The routing key (the event type) and the properties are kept as they are.
        "ack-mode": "on-confirm",
        "src-delete-after": "never",
        "reconnect-delay": 5,
    }


def shovel_name(province: str) -> str:
    return f"catalog-from-{province}"


def national_definitions(
    sources: Mapping[str, str], vhost: str = "/", dest_uri: str = "amqp://", namespace: str = ""
) -> dict[str, Any]:
    """The national broker's side: a shovel per province (province code -> its AMQP URI)."""
    return {
        "parameters": [
            {
                "component": "shovel",
                "name": shovel_name(code),
                "vhost": vhost,
                "value": shovel_value(uri, dest_uri, namespace),
            }
            for code, uri in sorted(sources.items())
        ]
    }


def apply(management_url: str, definitions: Mapping[str, Any], auth: tuple[str, str]) -> None:
    """Load definitions through the management HTTP API (one vhost's worth)."""
    base = management_url.rstrip("/")
    with requests.Session() as session:
        session.auth = auth
        for parameter in definitions.get("parameters", []):
            url = (
                f"{base}/api/parameters/shovel/{quote(parameter['vhost'], safe='')}/"
                f"{quote(parameter['name'], safe='')}"
            )
            session.put(url, json={"value": parameter["value"]}, timeout=10).raise_for_status()
        rest = {k: v for k, v in definitions.items() if k != "parameters"}
        if rest:
            vhosts = {item["vhost"] for items in rest.values() for item in items}
            for vhost in vhosts:
                url = f"{base}/api/definitions/{quote(vhost, safe='')}"
                session.post(url, json=rest, timeout=10).raise_for_status()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.federation.shovels")
    parser.add_argument("side", choices=("national", "province"))
    parser.add_argument("--vhost", default="/")
    parser.add_argument("--namespace", default="")
    parser.add_argument(
        "--province", action="append", default=[], help="CODE=AMQP_URI of a provincial broker"
    )
    parser.add_argument("--dest-uri", default="amqp://", help="the national broker, as seen by it")
    parser.add_argument("--apply", metavar="MANAGEMENT_URL", help="put through the HTTP API")
    parser.add_argument("--user", default="guest")
    parser.add_argument("--password", default="guest")
    args = parser.parse_args(argv)
    if args.side == "province":
        definitions = province_definitions(args.vhost, args.namespace)
    else:
        sources = dict(item.split("=", 1) for item in args.province)
        definitions = national_definitions(sources, args.vhost, args.dest_uri, args.namespace)
    if args.apply:
        apply(args.apply, definitions, (args.user, args.password))
    else:
        json.dump(definitions, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
