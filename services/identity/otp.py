"""One-time codes: issued, resent, verified under the configured limits.

A code is 6 digits from `secrets`; only HMAC(secret, challenge id + code) is stored
and it is compared in constant time. The code itself goes only into the `notify.send`
command (portal.commands) and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.bus.commands import Channel, Template, send_notification
from services.core.bus.envelope import format_timestamp, utcnow
from services.core.phones import mask_phone
from services.core.problems import Conflict, Problem, TooManyRequests
from services.identity.config import IdentityConfig
from services.identity.models import OtpChallengeRow, OtpSend, new_id
from services.identity.unit_of_work import kept

MASKED_UNKNOWN = "**********"


@dataclass(frozen=True)
class OtpInfo:
    """What the citizen is told about a sent code (never the code)."""

    sent_to: str
    expires_at: datetime
    resend_after: datetime
    now: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent_to": self.sent_to,
            "expires_at": format_timestamp(self.expires_at),
            "resend_after": format_timestamp(self.resend_after),
            "resend_in": max(0, int((self.resend_after - self.now).total_seconds())),
        }


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


class OtpService:
    """Issues and checks the OTP of one step of a flow (registration, login, ...)."""

    def __init__(self, config: IdentityConfig, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.clock = clock
        self._secret = config.otp_secret.encode()

    def _hmac(self, challenge_id: str, code: str) -> str:
        return hmac.new(self._secret, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def _check_phone_cap(self, session: Session, phone: str, now: datetime) -> None:
        window_start = now - timedelta(hours=1)
        sends = session.execute(
            select(func.count(), func.min(OtpSend.sent_at)).where(
                OtpSend.phone == phone, OtpSend.sent_at > window_start
            )
        ).one()
        if sends[0] >= self.config.otp_sends_per_phone_per_hour:
            raise TooManyRequests(
                "otp_send_limit", retry_after=_seconds_until(sends[1] + timedelta(hours=1), now)
            )

    def _challenge(self, session: Session, flow_id: str, purpose: str) -> OtpChallengeRow | None:
        return session.scalars(
            select(OtpChallengeRow)
            .where(OtpChallengeRow.flow_id == flow_id, OtpChallengeRow.purpose == purpose)
            .with_for_update()
        ).first()

    def send(
        self,
        session: Session,
        *,
        flow_id: str,
        purpose: str,
        template: Template,
        phone: str | None,
        account_id: str | None = None,
        resend: bool = False,
        fresh: bool = False,
    ) -> OtpInfo:
        """Issue a code (or replace the current one on resend) and ask notify to send it.

        `phone` None is a decoy (password reset of an unknown account): same answer and
        limits, nothing sent. `fresh`: the flow was created in this transaction, so it
        has no challenge yet and none is looked up.
        """
        now = self.clock()
        row = None if fresh else self._challenge(session, flow_id, purpose)
        if row is not None:
            if row.verified_at is not None:
                raise Conflict("otp_already_used")
            cooldown_end = row.sent_at + timedelta(seconds=self.config.otp_resend_cooldown_seconds)
            if now < cooldown_end:
                raise TooManyRequests("otp_cooldown", retry_after=_seconds_until(cooldown_end, now))
        elif resend:
            raise Problem("invalid_step", status=409)
        if phone is not None:
            self._check_phone_cap(session, phone, now)
        code = f"{secrets.randbelow(10**6):06d}"
        if row is None:
            row = OtpChallengeRow(id=new_id(), flow_id=flow_id, purpose=purpose, sends=0)
            session.add(row)
        row.phone = phone
        row.code_hmac = self._hmac(row.id, code)
        row.attempts = 0
        row.sends = (row.sends or 0) + 1
        row.sent_at = now
        row.expires_at = now + timedelta(seconds=self.config.otp_ttl_seconds)
        if phone is not None:
            session.add(OtpSend(phone=phone, sent_at=now))
            send_notification(
                session,
                template,
                channels=[Channel.SMS],
                personalisation={"code": code, "minutes": self.config.otp_ttl_seconds // 60},
                phone=phone,
                account_id=account_id,
                reference=flow_id,
            )
        return self._info(row, now)

    def _info(self, row: OtpChallengeRow, now: datetime) -> OtpInfo:
        return OtpInfo(
            sent_to=mask_phone(row.phone) if row.phone else MASKED_UNKNOWN,
            expires_at=row.expires_at,
            resend_after=row.sent_at + timedelta(seconds=self.config.otp_resend_cooldown_seconds),
            now=now,
        )

    def verify(self, session: Session, *, flow_id: str, purpose: str, code: str) -> None:
        """Accept the code or raise; a wrong code counts even when the caller then commits.

        Raises otp_locked (429) after the configured wrong tries, otp_expired (410),
        otp_invalid (400, with attempts_left); a wrong try is kept (committed).
        """
        now = self.clock()
        row = self._challenge(session, flow_id, purpose)
        if row is None:
            raise Conflict("otp_not_verified")
        if row.verified_at is not None:
            raise Conflict("otp_already_used")
        max_attempts = self.config.otp_max_attempts
        if row.attempts >= max_attempts:
            resend_at = row.sent_at + timedelta(seconds=self.config.otp_resend_cooldown_seconds)
            raise TooManyRequests("otp_locked", retry_after=_seconds_until(resend_at, now))
        if now >= row.expires_at:
            raise Problem("otp_expired", status=410)
        expected = self._hmac(row.id, code.strip())
        if row.phone is None or not hmac.compare_digest(expected, row.code_hmac):
            row.attempts += 1
            raise kept(
                Problem("otp_invalid", status=400, attempts_left=max_attempts - row.attempts)
            )
        row.verified_at = now

    def is_verified(self, session: Session, flow_id: str, purpose: str) -> bool:
        row = self._challenge(session, flow_id, purpose)
        return row is not None and row.verified_at is not None
