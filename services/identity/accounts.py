"""Accounts: creation (citizens and staff), OTP phones, profile and access log."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.clock import format_timestamp
from services.core.phones import mask_phone
from services.identity.models import AccessLogEntry, Account, OtpPhone

CITIZEN = "citizen"
STAFF_ROLES = ("officer", "admin")
LOA_CARRIER_VERIFIED = 2
LOA_STAFF = 2


def normalize_full_name(raw: str) -> str:
    """NFC with diacritics kept and single spaces."""
    return " ".join(unicodedata.normalize("NFC", raw).split())


@dataclass(frozen=True)
class NewAccount:
    username: str
    full_name: str
    password_hash: str
    phone: str
    roles: tuple[str, ...]
    verification_level: int
    citizen_id: str | None = None
    date_of_birth: date | None = None
    gender: str | None = None
    email: str | None = None
    address: str | None = None
    agency: str | None = None


def find_by_username(session: Session, username: str) -> Account | None:
    return session.scalars(select(Account).where(Account.username == username)).first()


def create_account(session: Session, new: NewAccount, now: datetime) -> Account:
    account = Account(
        username=new.username,
        citizen_id=new.citizen_id,
        full_name=new.full_name,
        date_of_birth=new.date_of_birth,
        gender=new.gender,
        email=new.email,
        address=new.address,
        password_hash=new.password_hash,
        roles=",".join(new.roles),
        agency=new.agency,
        verification_level=new.verification_level,
        created_at=now,
        password_changed_at=now,
    )
    session.add(account)
    session.flush()
    session.add(OtpPhone(account_id=account.id, phone=new.phone, is_default=True, created_at=now))
    return account


def otp_phones(session: Session, account_id: str) -> list[OtpPhone]:
    """The account's OTP phones in use, the default first."""
    rows = session.scalars(
        select(OtpPhone).where(OtpPhone.account_id == account_id, OtpPhone.removed_at.is_(None))
    ).all()
    return sorted(rows, key=lambda p: (not p.is_default, p.created_at))


def log_access(
    session: Session,
    account_id: str,
    *,
    at: datetime,
    ip: str | None,
    user_agent: str | None,
    method: str,
    result: str,
) -> None:
    session.add(
        AccessLogEntry(
            account_id=account_id,
            at=at,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
            method=method,
            result=result,
        )
    )


def access_log(session: Session, account_id: str, limit: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.account_id == account_id)
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": format_timestamp(r.at),
            "ip": r.ip,
            "user_agent": r.user_agent,
            "method": r.method,
            "result": r.result,
        }
        for r in rows
    ]


def profile(session: Session, account: Account) -> dict[str, Any]:
    """What /me shows the account holder about themselves."""
    return {
        "id": account.id,
        "username": account.username,
        "full_name": account.full_name,
        "citizen_id": account.citizen_id,
        "date_of_birth": account.date_of_birth.isoformat() if account.date_of_birth else None,
        "gender": account.gender,
        "email": account.email,
        "address": account.address,
        "roles": account.role_list,
        "agency": account.agency,
        "verification_level": account.verification_level,
        "otp_phones": [
            {"id": p.id, "phone": mask_phone(p.phone), "is_default": p.is_default}
            for p in otp_phones(session, account.id)
        ],
        "created_at": format_timestamp(account.created_at),
    }
