"""Forgot password, and adding an OTP phone: flows that end with an OTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.core.contracts.notify import Channel, Template, send_notification
from services.core.phones import InvalidPhone, mask_phone, normalize_mobile
from services.core.problems import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    TooManyRequests,
    ValidationProblem,
)
from services.identity.accounts import find_by_username, otp_phones
from services.identity.login import throttle_key
from services.identity.models import Account, Flow, LoginThrottle, OtpPhone, RefreshToken, new_id
from services.identity.otp import PASSWORD_RESET as RESET_OTP
from services.identity.otp import PHONE_ADD as PHONE_ADD_OTP
from services.identity.otp import OtpState, OtpStep, StepStatus
from services.identity.person import person_of_account
from services.identity.registration import check_password

if TYPE_CHECKING:
    from services.identity.context import IdentityContext

PASSWORD_RESET = "password_reset"  # noqa: S105 - a flow kind
PHONE_ADD = "phone_add"
OTP_SENT, OTP_VERIFIED, COMPLETED = "otp_sent", "otp_verified", "completed"


@dataclass(frozen=True)
class AddedPhone:
    id: str
    phone: str  # masked
    is_default: bool


class PasswordResets:
    """Citizen ID -> OTP to the OTP phone -> new password; same answers for unknown IDs."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def start(self, username: str) -> OtpStep:
        now = self.ctx.clock()
        with self.ctx.transaction() as session:
            account = find_by_username(session, username.strip())
            phone = None
            if account is not None:
                phones = otp_phones(session, account.id)
                phone = phones[0].phone if phones else None
            flow = Flow(
                id=new_id(),
                kind=PASSWORD_RESET,
                account_id=account.id if account else None,
                status=OTP_SENT,
                phone=phone,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ctx.config.flow_ttl_seconds),
            )
            session.add(flow)
            # An unknown account, or a spent reset budget, gets a decoy challenge: same
            # answer, nothing sent; the login budget of the phone is never touched.
            otp = self.ctx.otp.open(
                session,
                RESET_OTP,
                flow_id=flow.id,
                phone=phone,
                account_id=flow.account_id,
                fresh=True,
            )
            return OtpStep(id=flow.id, otp=otp)

    def _open(self, session: Session, flow_id: str, *statuses: str) -> Flow:
        flow = session.scalars(
            select(Flow).where(Flow.id == flow_id, Flow.kind == PASSWORD_RESET).with_for_update()
        ).first()
        if flow is None:
            raise NotFound()
        if flow.expires_at <= self.ctx.clock():
            raise Problem("flow_expired", status=410)
        if flow.status not in statuses:
            raise Conflict("otp_not_verified" if flow.status == OTP_SENT else "invalid_step")
        return flow

    def resend(self, flow_id: str) -> OtpStep:
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            otp = self.ctx.otp.resend(
                session, RESET_OTP, flow_id=flow.id, phone=flow.phone, account_id=flow.account_id
            )
            return OtpStep(otp=otp)

    def otp_state(self, flow_id: str) -> OtpState:
        with self.ctx.transaction() as session:
            flow = session.get(Flow, flow_id)
            if flow is None or flow.kind != PASSWORD_RESET:
                raise NotFound()
            if flow.expires_at <= self.ctx.clock():
                raise Problem("flow_expired", status=410)
            state = self.ctx.otp.state(session, RESET_OTP, flow.id)
            if state is None:
                raise NotFound()
            return state

    def verify(self, flow_id: str, code: str) -> StepStatus:
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            self.ctx.otp.verify(session, RESET_OTP, flow_id=flow.id, code=code)
            flow.status = OTP_VERIFIED
            return StepStatus(id=flow.id, status=OTP_VERIFIED)

    def complete(self, flow_id: str, password: str, confirmation: str) -> StepStatus:
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_VERIFIED)
            account = session.get(Account, flow.account_id)
            if account is None:
                raise NotFound()
            personal = person_of_account(session, account)
        check_password(password, confirmation, personal)
        password_hash = self.ctx.hashing.hash(password)
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_VERIFIED)
            account = session.get(Account, flow.account_id)
            assert account is not None
            now = self.ctx.clock()
            account.password_hash = password_hash
            account.password_changed_at = now
            flow.status = COMPLETED
            throttle = session.get(LoginThrottle, throttle_key(account.username))
            if throttle is not None:
                session.delete(throttle)
            # A new password ends every session of the old one.
            for token in session.scalars(
                select(RefreshToken).where(
                    RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None)
                )
            ):
                token.revoked_at = now
            return StepStatus(status=COMPLETED)


class PhoneAdditions:
    """An account holder adds an OTP phone after proving it with an OTP."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def start(self, account_id: str, raw_phone: str, password: str) -> OtpStep:
        """Re-authenticated by the password, capped per day, the number known to the carrier."""
        try:
            phone = normalize_mobile(raw_phone)
        except InvalidPhone as exc:
            raise ValidationProblem(
                errors={"phone": ["Số điện thoại di động Việt Nam không hợp lệ."]}
            ) from exc
        with self.ctx.transaction() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound()
            password_hash = account.password_hash
        if not self.ctx.hashing.verify(password_hash, password):
            raise Forbidden("password_incorrect")
        now = self.ctx.clock()
        with self.ctx.transaction() as session:
            if any(p.phone == phone for p in otp_phones(session, account_id)):
                raise ValidationProblem(
                    errors={"phone": ["Số điện thoại này đã là số nhận OTP của tài khoản."]}
                )
            self._check_daily_cap(session, account_id, now)
        # The carrier is asked outside any transaction: a number it does not know is
        # not texted (a family member's phone, known to it, may be shared).
        if self.ctx.carrier.lookup(phone) is None:
            raise Problem("phone_not_subscribed", status=422)
        with self.ctx.transaction() as session:
            self._check_daily_cap(session, account_id, now)
            flow = Flow(
                id=new_id(),
                kind=PHONE_ADD,
                account_id=account_id,
                status=OTP_SENT,
                new_phone=phone,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ctx.config.flow_ttl_seconds),
            )
            session.add(flow)
            otp = self.ctx.otp.open(
                session, PHONE_ADD_OTP, flow_id=flow.id, phone=phone, account_id=account_id
            )
            return OtpStep(id=flow.id, otp=otp)

    def _check_daily_cap(self, session: Session, account_id: str, now: datetime) -> None:
        since = now - timedelta(days=1)
        started, oldest = session.execute(
            select(func.count(), func.min(Flow.created_at)).where(
                Flow.account_id == account_id, Flow.kind == PHONE_ADD, Flow.created_at > since
            )
        ).one()
        if started >= self.ctx.config.otp_phones_per_day:
            retry = (oldest + timedelta(days=1) - now).total_seconds()
            raise TooManyRequests("otp_phone_limit", retry_after=int(retry + 0.999))

    def verify(self, account_id: str, flow_id: str, code: str) -> AddedPhone:
        with self.ctx.transaction() as session:
            flow = session.scalars(
                select(Flow)
                .where(Flow.id == flow_id, Flow.kind == PHONE_ADD, Flow.account_id == account_id)
                .with_for_update()
            ).first()
            if flow is None or flow.new_phone is None:
                raise NotFound()
            if flow.status != OTP_SENT:
                raise Conflict("invalid_step")
            if flow.expires_at <= self.ctx.clock():
                raise Problem("flow_expired", status=410)
            self.ctx.otp.verify(session, PHONE_ADD_OTP, flow_id=flow.id, code=code)
            flow.status = COMPLETED
            current = otp_phones(session, account_id)
            row = OtpPhone(
                account_id=account_id,
                phone=flow.new_phone,
                is_default=False,
                created_at=self.ctx.clock(),
            )
            session.add(row)
            session.flush()
            account = session.get(Account, account_id)
            if account is not None and current:
                _alert_phone_added(session, account, current[0].phone, row.phone)
            return AddedPhone(id=row.id, phone=mask_phone(row.phone), is_default=False)


def _alert_phone_added(session: Session, account: Account, existing: str, added: str) -> None:
    """Warn the default OTP phone (and e-mail) that another number now receives OTPs."""
    channels = [Channel.SMS, Channel.INBOX]
    if account.email:
        channels.append(Channel.EMAIL)
    send_notification(
        session,
        Template.OTP_PHONE_CHANGED,
        channels=channels,
        personalisation={"full_name": account.full_name, "new_phone_masked": mask_phone(added)},
        account_id=account.id,
        phone=existing,
        email=account.email,
        reference=account.id,
    )
