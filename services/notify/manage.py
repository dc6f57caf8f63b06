"""Operator commands of the notify service: `python -m services.notify.manage --help`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from services.core.config import ConfigError
from services.notify import SERVICE
from services.notify.context import MIGRATIONS, build_context

SECRETS = ("sms_gateway_api_key", "smtp_password")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("load-demo", help="load the demo data (idempotent)")
    commands.add_parser("check-config", help="validate the NOTIFY_* settings and print them")
    args = parser.parse_args(argv)
    try:
        ctx = build_context()
    except ConfigError as exc:
        print(f"{SERVICE}: configuration refused: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        for name, value in sorted(asdict(ctx.notify).items()):
            print(f"{name}={'***' if name in SECRETS and value else value}")
    elif args.command == "migrate":
        ctx.database.migrate(MIGRATIONS)
        print(f"{SERVICE}: database migrated", file=sys.stderr)
    elif args.command == "load-demo":
        print(f"{SERVICE}: no demo data", file=sys.stderr)
    ctx.database.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
