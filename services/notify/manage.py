"""Operator commands of the notify service: `python -m services.notify.manage --help`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from services.core.config import ConfigError, ServiceSettings
from services.core.service import ServiceDatabase
from services.notify import SERVICE
from services.notify.app import MIGRATIONS
from services.notify.config import NotifySettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("load-demo", help="load the demo data (idempotent)")
    commands.add_parser("check-config", help="validate the NOTIFY_* settings and print them")
    args = parser.parse_args(argv)
    if args.command == "check-config":
        try:
            notify = NotifySettings.from_env()
        except ConfigError as exc:
            print(f"{SERVICE}: configuration refused: {exc}", file=sys.stderr)
            return 2
        for name, value in sorted(asdict(notify).items()):
            secret = name in ("sms_gateway_api_key", "smtp_password")
            print(f"{name}={'***' if secret and value else value}")
        return 0
    database = ServiceDatabase.open(ServiceSettings.from_env(SERVICE))
    if args.command == "migrate":
        database.migrate(MIGRATIONS)
        print(f"{SERVICE}: database migrated", file=sys.stderr)
    elif args.command == "load-demo":
        print(f"{SERVICE}: no demo data", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
