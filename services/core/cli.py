"""`portal`: operator commands for the bus of any service.

portal dlq list <service>
portal dlq replay <service> [--id MESSAGE_ID]
portal outbox status <service>
"""

from __future__ import annotations

import argparse
import json
import sys

import pika.exceptions
from sqlalchemy.exc import SQLAlchemyError

from services.core.bus.dlq import (
    NoDeadLetterQueue,
    format_dead_letters,
    list_dead_letters,
    replay_dead_letters,
)
from services.core.bus.store import OutboxStore
from services.core.config import ConfigError, ServiceSettings
from services.core.db import make_engine, make_session_factory

SERVICES = ("identity", "catalog", "dossier", "notify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description=__doc__.split("\n")[0])
    groups = parser.add_subparsers(dest="group", required=True)

    dlq = groups.add_parser("dlq", help="dead-letter queues").add_subparsers(
        dest="action", required=True
    )
    dlq_list = dlq.add_parser("list", help="show dead letters, one JSON line each")
    dlq_list.add_argument("service", choices=SERVICES)
    dlq_list.add_argument("--limit", type=int, default=1000)
    replay = dlq.add_parser("replay", help="put dead letters back on their queue")
    replay.add_argument("service", choices=SERVICES)
    replay.add_argument("--id", dest="message_id", help="replay only this message id")

    outbox = groups.add_parser("outbox", help="outbox tables").add_subparsers(
        dest="action", required=True
    )
    status = outbox.add_parser("status", help="pending count and oldest age")
    status.add_argument("service", choices=SERVICES)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a failure the operator can act on is one line on stderr, exit 1."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except NoDeadLetterQueue as exc:
        print(f"portal: {exc}", file=sys.stderr)
    except ConfigError as exc:
        print(f"portal: configuration: {exc}", file=sys.stderr)
    except (pika.exceptions.AMQPError, OSError) as exc:
        reason = (str(exc) or type(exc).__name__).splitlines()[0]
        print(f"portal: the broker cannot be reached ({reason})", file=sys.stderr)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        print(f"portal: {args.service}'s database cannot be read ({reason})", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    settings = ServiceSettings.from_env(args.service)
    if args.group == "dlq" and args.action == "list":
        letters = list_dead_letters(settings.bus, args.service, args.limit)
        if letters:
            print(format_dead_letters(letters))
        print(f"{len(letters)} dead letter(s) in {args.service}", file=sys.stderr)
        return 0
    if args.group == "dlq" and args.action == "replay":
        ids = replay_dead_letters(settings.bus, args.service, args.message_id)
        for message_id in ids:
            print(message_id)
        print(f"replayed {len(ids)} message(s) of {args.service}", file=sys.stderr)
        return 0 if ids or args.message_id is None else 1
    store = OutboxStore(make_session_factory(make_engine(settings.database_url)))
    outbox = store.status()
    print(
        json.dumps(
            {
                "service": args.service,
                "pending": outbox.pending,
                "oldest_pending_age_seconds": outbox.oldest_pending_age,
                "failing": outbox.failing,
                "published_kept": outbox.published,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
