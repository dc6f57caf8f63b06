"""Operator commands of the catalog service: `python -m services.catalog.manage --help`."""

from __future__ import annotations

import argparse
import sys

from services.catalog import SERVICE
from services.catalog.app import MIGRATIONS
from services.core.config import ServiceSettings
from services.core.service import ServiceDatabase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("load-demo", help="load the demo data (idempotent)")
    args = parser.parse_args(argv)
    database = ServiceDatabase.open(ServiceSettings.from_env(SERVICE))
    if args.command == "migrate":
        database.migrate(MIGRATIONS)
        print(f"{SERVICE}: database migrated", file=sys.stderr)
    elif args.command == "load-demo":
        print(f"{SERVICE}: no demo data", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
