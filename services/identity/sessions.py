"""Sessions: each login's refresh-token family, listed and revoked by its holder."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.clock import format_timestamp
from services.core.problems import NotFound
from services.identity.models import RefreshToken, SessionFamily
from services.identity.tokens import token_hash

UNKNOWN_DEVICE = "Thiết bị không xác định"

# Checked in order: the first that matches names the browser (Edge and Opera also say Chrome).
_BROWSERS: tuple[tuple[str, str], ...] = (
    (r"coc_coc|coccoc", "Cốc Cốc"),
    (r"edg(e|a|ios)?/", "Edge"),
    (r"opr/|opera", "Opera"),
    (r"samsungbrowser", "Samsung Internet"),
    (r"zalo", "Zalo"),
    (r"firefox|fxios", "Firefox"),
    (r"chrome|crios|chromium", "Chrome"),
    (r"safari", "Safari"),
)
_SYSTEMS: tuple[tuple[str, str], ...] = (
    (r"iphone", "iPhone"),
    (r"ipad", "iPad"),
    (r"android", "Android"),
    (r"windows", "Windows"),
    (r"mac os x|macintosh", "macOS"),
    (r"cros", "ChromeOS"),
    (r"linux", "Linux"),
)


def device_summary(user_agent: str | None) -> str:
    """A short Vietnamese description of the device, e.g. `Chrome trên Windows`."""
    ua = (user_agent or "").casefold()
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return f"{browser} trên {system}"
    return browser or system or UNKNOWN_DEVICE


def mask_ip(ip: str | None) -> str | None:
    """Enough of the address to recognise a network, not a household: 203.113.*.*."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        octets = str(address).split(".")
        return f"{octets[0]}.{octets[1]}.*.*"
    groups = address.exploded.split(":")
    return ":".join(groups[:2]) + ":*"


def _live_families(account_id: str, now: datetime) -> Any:
    """Families of the account that still hold a spendable refresh token."""
    live = (
        select(RefreshToken.family_id)
        .where(
            RefreshToken.account_id == account_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .scalar_subquery()
    )
    return select(SessionFamily).where(
        SessionFamily.account_id == account_id,
        SessionFamily.revoked_at.is_(None),
        SessionFamily.id.in_(live),
    )


def list_sessions(
    session: Session, account_id: str, current: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The account's live sessions, the most recently used first."""
    rows = session.scalars(
        _live_families(account_id, now).order_by(
            SessionFamily.last_used_at.desc(), SessionFamily.id
        )
    ).all()
    return [
        {
            "id": row.id,
            "created_at": format_timestamp(row.created_at),
            "last_used_at": format_timestamp(row.last_used_at),
            "device": device_summary(row.user_agent),
            "ip": mask_ip(row.ip),
            "current": row.id == current,
        }
        for row in rows
    ]


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    """End one session: its refresh tokens can no longer be spent."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(SessionFamily)
        .where(SessionFamily.id == family_id, SessionFamily.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_session(session: Session, account_id: str, family_id: str, now: datetime) -> None:
    """DELETE /me/sessions/{id}: 404 unless it is a live session of this account."""
    row = session.scalars(
        _live_families(account_id, now).where(SessionFamily.id == family_id)
    ).first()
    if row is None:
        raise NotFound()
    revoke_family(session, family_id, now)


def revoke_all(
    session: Session, account_id: str, now: datetime, *, keep: str | None = None
) -> None:
    """End every session of the account (a new password), but `keep` when given."""
    tokens = update(RefreshToken).where(
        RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None)
    )
    families = update(SessionFamily).where(
        SessionFamily.account_id == account_id, SessionFamily.revoked_at.is_(None)
    )
    if keep is not None:
        tokens = tokens.where(RefreshToken.family_id != keep)
        families = families.where(SessionFamily.id != keep)
    session.execute(tokens.values(revoked_at=now))
    session.execute(families.values(revoked_at=now))


def logout(session: Session, account_id: str, refresh_token: str, now: datetime) -> None:
    """Revoke the family of the presented refresh token when it is the caller's own.

    An unknown, spent or someone else's token changes nothing and is answered the same
    (204): logging out twice is not an error, and nothing is learnt about other tokens.
    """
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token))
    ).first()
    if row is None or row.account_id != account_id:
        return
    revoke_family(session, row.family_id, now)
