"""Officers and administrators, created by operators (and the demo data)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from services.core.phones import normalize_mobile
from services.core.problems import Conflict
from services.identity.accounts import (
    LOA_STAFF,
    STAFF_ROLES,
    NewAccount,
    create_account,
    find_by_username,
    normalize_full_name,
)
from services.identity.passwords import password_problems

if TYPE_CHECKING:
    from services.identity.context import IdentityContext

DEMO_STAFF = Path(__file__).resolve().parents[2] / "deploy" / "demo" / "staff.csv"


class StaffError(ValueError):
    """A staff account cannot be created as asked."""


@dataclass(frozen=True)
class StaffMember:
    username: str
    password: str
    phone: str
    agency: str
    role: str
    full_name: str


def create_staff(ctx: IdentityContext, member: StaffMember) -> str:
    """Create an officer or admin; returns the account id. StaffError when refused."""
    if member.role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    username = member.username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise StaffError("username must be 1-64 characters without spaces")
    if username.isdigit() and len(username) in (9, 12):
        raise StaffError("a staff username must not look like a citizen ID")
    problems = password_problems(member.password, forbidden=(username,))
    if problems:
        raise StaffError(f"password refused: {', '.join(problems)}")
    phone = normalize_mobile(member.phone)
    if member.role == "officer" and not member.agency.strip():
        raise StaffError("an officer needs an agency code")
    password_hash = ctx.hashing.hash(member.password)
    try:
        return _insert_staff(ctx, username, member, phone, password_hash)
    except IntegrityError as exc:
        raise Conflict("account_exists") from exc


def _insert_staff(
    ctx: IdentityContext, username: str, member: StaffMember, phone: str, password_hash: str
) -> str:
    with ctx.transaction() as session:
        if find_by_username(session, username) is not None:
            raise Conflict("account_exists")
        account = create_account(
            session,
            NewAccount(
                username=username,
                full_name=normalize_full_name(member.full_name),
                password_hash=password_hash,
                phone=phone,
                roles=(member.role,),
                verification_level=LOA_STAFF,
                agency=member.agency.strip() or None,
            ),
            ctx.clock(),
        )
        return account.id


def load_demo_staff(ctx: IdentityContext, path: Path = DEMO_STAFF) -> tuple[int, int]:
    """Create the staff listed in the CSV that do not exist yet: (created, already there)."""
    created = existing = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            with ctx.transaction() as session:
                if find_by_username(session, row["username"].strip()) is not None:
                    existing += 1
                    continue
            create_staff(
                ctx,
                StaffMember(
                    username=row["username"],
                    password=row["password"],
                    phone=row["phone"],
                    agency=row["agency_code"],
                    role=row["role"],
                    full_name=row["full_name"],
                ),
            )
            created += 1
    return created, existing
