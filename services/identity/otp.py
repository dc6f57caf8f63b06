"""The one OTP flow of identity: open, resend, verify, budgets, sending and delivery state.

Registration, login, phone change, password reset and phone addition all go through
`OtpFlow`. A code is 6 digits from `secrets`; only HMAC(secret, challenge id + code) is
stored and it is compared in constant time. The code itself goes only into the
`notify.send` command (portal.commands) and is never logged; the command's id is kept
on the challenge so notify's delivered/failed outcome can be matched to it.

Budgets are per phone *and purpose*: an anonymous password reset never spends the
login budget of the same phone. Cooldowns are per flow and destination: choosing
another phone (or a new number after a mismatch) is not held back by the last send to
a different phone, and a failed delivery may be resent at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.clock import utcnow
from services.core.contracts.notify import Channel, Template, send_notification
from services.core.phones import mask_phone
from services.core.problems import Conflict, Problem, TooManyRequests, kept
from services.identity.config import IdentityConfig
from services.identity.models import OtpChallengeRow, OtpSend, new_id
from services.identity.problems import OtpNotDelivered

MASKED_UNKNOWN = "**********"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
SEND_LIMIT_REASON = "otp_send_limit"


class OnCap(StrEnum):
    """What a send does when the phone's budget for its purpose is spent."""

    REFUSE = "refuse"  # 429 otp_send_limit (the caller proved who they are, or it is theirs)
    DECOY = "decoy"  # answer as for an unknown account, send nothing (anonymous reset)
    FAIL = "fail"  # keep the flow, mark the delivery failed (login: other ways through)


@dataclass(frozen=True)
class Purpose:
    """One use of OTPs: its challenge name (also its budget), template and cap rule."""

    name: str
    template: Template
    on_cap: OnCap = OnCap.REFUSE


REGISTRATION = Purpose("registration", Template.OTP_REGISTRATION)
LOGIN = Purpose("login", Template.OTP_LOGIN, OnCap.FAIL)
PHONE_CHANGE = Purpose("phone_change", Template.OTP_PHONE_CHANGE)
PASSWORD_RESET = Purpose("password_reset", Template.OTP_PASSWORD_RESET, OnCap.DECOY)
PHONE_ADD = Purpose("phone_add", Template.OTP_PHONE_CHANGE)


@dataclass(frozen=True)
class OtpState:
    """What the citizen is told about the current code of a flow (never the code)."""

    sent_to: str
    expires_at: datetime
    resend_after: datetime
    now: datetime
    delivery: str
    reason: str | None = None

    @property
    def resend_in(self) -> int:
        return max(0, int((self.resend_after - self.now).total_seconds()))

    @property
    def failed(self) -> bool:
        return self.delivery == FAILED


@dataclass(frozen=True)
class OtpStep:
    """The answer of a step that sends an OTP (`id` when it started a flow)."""

    otp: OtpState
    id: str | None = None

    @property
    def problem(self) -> OtpNotDelivered | None:
        return OtpNotDelivered() if self.otp.failed else None


@dataclass(frozen=True)
class StepStatus:
    """Where a flow stands after a step that sends nothing (`id` when the step names it)."""

    status: str
    id: str | None = None


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


class OtpFlow:
    """Issues, resends and checks the OTP of one step of a flow, within its budgets."""

    def __init__(self, config: IdentityConfig, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.clock = clock
        self._secret = config.otp_secret.encode()

    # -- the public steps --------------------------------------------------------------

    def open(
        self,
        session: Session,
        purpose: Purpose,
        *,
        flow_id: str,
        phone: str | None,
        account_id: str | None = None,
        fresh: bool = False,
    ) -> OtpState:
        """A new code for this step, replacing any earlier one (even a used one).

        `phone` None is a decoy (an unknown account): same answer, nothing sent.
        `fresh`: the flow was created in this transaction, so no challenge is looked up.
        """
        row = None if fresh else self._challenge(session, flow_id, purpose.name)
        return self._send(session, purpose, row, flow_id, phone, account_id)

    def resend(
        self,
        session: Session,
        purpose: Purpose,
        *,
        flow_id: str,
        phone: str | None,
        account_id: str | None = None,
    ) -> OtpState:
        """Another code for the current challenge (or to another of the account's phones)."""
        row = self._challenge(session, flow_id, purpose.name)
        if row is None:
            raise Problem("invalid_step", status=409)
        if row.verified_at is not None:
            raise Conflict("otp_already_used")
        return self._send(session, purpose, row, flow_id, phone, account_id)

    def verify(self, session: Session, purpose: Purpose, *, flow_id: str, code: str) -> None:
        """Accept the code or raise; a wrong code counts even when the caller then commits.

        Raises otp_not_delivered (409) when notify reported the code could not be sent,
        otp_locked (429) after the configured wrong tries, otp_expired (410),
        otp_invalid (400, with attempts_left); a wrong try is kept (committed).
        """
        now = self.clock()
        row = self._challenge(session, flow_id, purpose.name)
        if row is None:
            raise Conflict("otp_not_verified")
        if row.verified_at is not None:
            raise Conflict("otp_already_used")
        if row.delivery == FAILED:
            raise OtpNotDelivered()
        max_attempts = self.config.otp_max_attempts
        if row.attempts >= max_attempts:
            raise TooManyRequests(
                "otp_locked", retry_after=_seconds_until(self._cooldown_end(row), now)
            )
        if now >= row.expires_at:
            raise Problem("otp_expired", status=410)
        expected = self._hmac(row.id, code.strip())
        if row.phone is None or not hmac.compare_digest(expected, row.code_hmac):
            row.attempts += 1
            raise kept(
                Problem("otp_invalid", status=400, attempts_left=max_attempts - row.attempts)
            )
        row.verified_at = now

    def state(self, session: Session, purpose: Purpose, flow_id: str) -> OtpState | None:
        """The current code's state as the page follows it; None when there is none."""
        row = self._challenge(session, flow_id, purpose.name, lock=False)
        return None if row is None else self._state(row, self.clock())

    # -- the one send ------------------------------------------------------------------

    def _send(
        self,
        session: Session,
        purpose: Purpose,
        row: OtpChallengeRow | None,
        flow_id: str,
        phone: str | None,
        account_id: str | None,
    ) -> OtpState:
        now = self.clock()
        if row is not None:
            self._check_cooldown(session, row, purpose, phone, now)
        capped = self._budget_spent(session, purpose, phone, now) if phone is not None else 0
        if capped and purpose.on_cap is OnCap.REFUSE:
            raise TooManyRequests("otp_send_limit", retry_after=capped)
        code = f"{secrets.randbelow(10**6):06d}"
        if row is None:
            row = OtpChallengeRow(id=new_id(), flow_id=flow_id, purpose=purpose.name, sends=0)
            session.add(row)
        decoy = phone is None or (capped and purpose.on_cap is OnCap.DECOY)
        row.phone = None if decoy else phone
        row.code_hmac = self._hmac(row.id, code)
        row.attempts = 0
        row.sends = (row.sends or 0) + 1
        row.sent_at = now
        row.verified_at = None
        row.expires_at = now + timedelta(seconds=self.config.otp_ttl_seconds)
        row.command_id = None
        row.delivery, row.delivery_reason = PENDING, None
        if capped and purpose.on_cap is OnCap.FAIL:
            row.delivery, row.delivery_reason = FAILED, SEND_LIMIT_REASON
        elif not decoy and phone is not None:
            session.add(OtpSend(phone=phone, sent_at=now, purpose=purpose.name, flow_id=flow_id))
            envelope = send_notification(
                session,
                purpose.template,
                channels=[Channel.SMS],
                personalisation={"code": code, "minutes": self.config.otp_ttl_seconds // 60},
                phone=phone,
                account_id=account_id,
                reference=flow_id,
            )
            row.command_id = envelope.id
        return self._state(row, now)

    def _check_cooldown(
        self,
        session: Session,
        row: OtpChallengeRow,
        purpose: Purpose,
        phone: str | None,
        now: datetime,
    ) -> None:
        """The cooldown holds back another send to the *same* destination of this flow."""
        if row.phone == phone or (phone is None or row.phone is None):
            if row.delivery == FAILED:
                return  # nothing reached the person: at once
            last: datetime | None = row.sent_at
        else:
            last = session.scalar(
                select(func.max(OtpSend.sent_at)).where(
                    OtpSend.flow_id == row.flow_id,
                    OtpSend.purpose == purpose.name,
                    OtpSend.phone == phone,
                )
            )
        if last is None:
            return
        end = last + timedelta(seconds=self.config.otp_resend_cooldown_seconds)
        if now < end:
            raise TooManyRequests("otp_cooldown", retry_after=_seconds_until(end, now))

    def _budget_spent(self, session: Session, purpose: Purpose, phone: str, now: datetime) -> int:
        """0 when the phone may receive this purpose's code, else seconds until it may."""
        window_start = now - timedelta(hours=1)
        count, oldest = session.execute(
            select(func.count(), func.min(OtpSend.sent_at)).where(
                OtpSend.phone == phone,
                OtpSend.purpose == purpose.name,
                OtpSend.sent_at > window_start,
            )
        ).one()
        if count < self.config.otp_sends_per_phone_per_hour:
            return 0
        return _seconds_until(oldest + timedelta(hours=1), now)

    # -- helpers -----------------------------------------------------------------------

    def _hmac(self, challenge_id: str, code: str) -> str:
        return hmac.new(self._secret, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def _challenge(
        self, session: Session, flow_id: str, purpose: str, lock: bool = True
    ) -> OtpChallengeRow | None:
        query = select(OtpChallengeRow).where(
            OtpChallengeRow.flow_id == flow_id, OtpChallengeRow.purpose == purpose
        )
        return session.scalars(query.with_for_update() if lock else query).first()

    def _cooldown_end(self, row: OtpChallengeRow) -> datetime:
        return row.sent_at + timedelta(seconds=self.config.otp_resend_cooldown_seconds)

    def _state(self, row: OtpChallengeRow, now: datetime) -> OtpState:
        delivery = row.delivery or PENDING
        if row.phone is None and delivery == PENDING:
            # A decoy (nothing sent) looks like a code that arrived a moment later.
            settled = row.sent_at + timedelta(seconds=self.config.otp_decoy_delivered_seconds)
            delivery = DELIVERED if now >= settled else PENDING
        failed = delivery == FAILED
        return OtpState(
            sent_to=mask_phone(row.phone) if row.phone else MASKED_UNKNOWN,
            expires_at=row.expires_at,
            resend_after=row.sent_at if failed else self._cooldown_end(row),
            now=now,
            delivery=delivery,
            reason=row.delivery_reason if failed else None,
        )


def record_delivery(session: Session, command_id: str, delivered: bool, reason: str | None) -> bool:
    """notify's verdict on a sent code; False when no current challenge sent it.

    A resend replaces the challenge's command id, so a late outcome of an older code
    changes nothing.
    """
    row = session.scalars(
        select(OtpChallengeRow).where(OtpChallengeRow.command_id == command_id).with_for_update()
    ).first()
    if row is None:
        return False
    row.delivery = DELIVERED if delivered else FAILED
    row.delivery_reason = None if delivered else (reason or "unknown")[:48]
    return True
