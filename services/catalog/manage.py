"""Operator commands of the catalog service: `python -m services.catalog.manage --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.catalog import SERVICE
from services.catalog.context import MIGRATIONS, build_context
from services.catalog.demo import agencies_csv, load_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser(
        "load-demo", help="migrate, then load the demo catalogue (idempotent, no duplicate events)"
    )
    export = commands.add_parser(
        "agencies-csv", help="write the demo agencies as code,name,level,province"
    )
    export.add_argument("path", nargs="?", default="-", help="file to write, - for stdout")
    args = parser.parse_args(argv)
    if args.command == "agencies-csv":
        text = agencies_csv()
        if args.path == "-":
            sys.stdout.write(text)
        else:
            Path(args.path).parent.mkdir(parents=True, exist_ok=True)
            Path(args.path).write_text(text, encoding="utf-8")
        return 0
    ctx = build_context()
    settings, database = ctx.settings, ctx.database
    database.migrate(MIGRATIONS)
    if args.command == "migrate":
        print(f"{SERVICE}: database migrated", file=sys.stderr)
    elif args.command == "load-demo":
        with ctx.transaction() as session:
            result = load_demo(session, settings.province, settings.portal_role)
        events = ", ".join(f"{n} {t}" for t, n in sorted(result.events.items())) or "no events"
        print(
            f"{SERVICE}: demo loaded ({result.references} reference rows changed, {events})",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
