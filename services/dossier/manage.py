"""Operator commands of the dossier service: `python -m services.dossier.manage --help`."""

from __future__ import annotations

import argparse
import sys

from services.dossier import SERVICE
from services.dossier.catalog import sync_from_catalog
from services.dossier.context import MIGRATIONS, build_context
from services.dossier.overdue import scan_overdue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("load-demo", help="load the demo data (idempotent)")
    commands.add_parser("sync-catalog", help="copy every procedure from the catalogue API")
    commands.add_parser("scan-overdue", help="send apology notices for overdue dossiers now")
    args = parser.parse_args(argv)
    ctx = build_context()
    database, config = ctx.database, ctx.config
    if args.command == "migrate":
        database.migrate(MIGRATIONS)
        print(f"{SERVICE}: database migrated", file=sys.stderr)
    elif args.command == "load-demo":
        print(f"{SERVICE}: no demo data (procedures come from the catalogue)", file=sys.stderr)
    elif args.command == "sync-catalog":
        stored = sync_from_catalog(
            database.sessions, config.catalog_url, timeout=config.catalog_timeout
        )
        print(f"{SERVICE}: {stored} procedures stored", file=sys.stderr)
    elif args.command == "scan-overdue":
        done = scan_overdue(database.sessions, ctx, ctx.clock())
        print(f"{SERVICE}: {done} apology notices", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
