"""Operator commands of the identity service: `python -m services.identity.manage --help`.

migrate                      bring the database to the newest schema
load-demo                    create the demo staff of deploy/demo/staff.csv (idempotent)
create-staff --username U --password P --phone 09... --agency CODE --role officer|admin
             --full-name "Họ Tên"
rotate-keys                  add a signing key (signs after the publish delay) and
                             delete keys no live token needs
purge-expired                delete unfinished registrations and flows past their time
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.core.phones import InvalidPhone
from services.core.problems import Problem
from services.identity import SERVICE
from services.identity.context import MIGRATIONS, build_context
from services.identity.registration import Registrations
from services.identity.staff import (
    DEMO_STAFF,
    StaffError,
    StaffMember,
    create_staff,
    load_demo_staff,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m services.{SERVICE}.manage")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    demo = commands.add_parser("load-demo", help="create the demo staff (idempotent)")
    demo.add_argument("--file", type=Path, default=DEMO_STAFF)
    staff = commands.add_parser("create-staff", help="create an officer or administrator")
    staff.add_argument("--username", required=True)
    staff.add_argument("--password", required=True)
    staff.add_argument("--phone", required=True)
    staff.add_argument("--agency", default="")
    staff.add_argument("--role", required=True, choices=["officer", "admin"])
    staff.add_argument("--full-name", required=True)
    commands.add_parser("rotate-keys", help="add a signing key and prune unneeded ones")
    commands.add_parser("purge-expired", help="delete expired registrations and flows")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ctx = build_context()
    database = ctx.database
    if args.command == "migrate":
        database.migrate(MIGRATIONS)
        print(f"{SERVICE}: database migrated", file=sys.stderr)
        return 0
    if args.command == "load-demo":
        database.migrate(MIGRATIONS)
        created, existing = load_demo_staff(ctx, args.file)
        print(f"{SERVICE}: {created} staff created, {existing} already there", file=sys.stderr)
    elif args.command == "create-staff":
        member = StaffMember(
            username=args.username,
            password=args.password,
            phone=args.phone,
            agency=args.agency,
            role=args.role,
            full_name=args.full_name,
        )
        try:
            account_id = create_staff(ctx, member)
        except (StaffError, InvalidPhone) as exc:
            print(f"{SERVICE}: refused: {exc}", file=sys.stderr)
            return 2
        except Problem as exc:
            print(f"{SERVICE}: refused: {exc.code}", file=sys.stderr)
            return 2
        print(account_id)
    elif args.command == "rotate-keys":
        key = ctx.keys.rotate()
        pruned = ctx.keys.prune()
        print(key.kid)
        print(
            f"{SERVICE}: key {key.kid} published, signs from {key.active_from:%Y-%m-%dT%H:%M:%SZ};"
            f" pruned {len(pruned)} old key(s)",
            file=sys.stderr,
        )
    elif args.command == "purge-expired":
        purged = Registrations(ctx).purge_expired()
        print(f"{SERVICE}: purged {purged} expired registration(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
