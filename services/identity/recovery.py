"""Forgot password, and adding an OTP phone: flows that end with an OTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.bus.commands import Template
from services.core.phones import InvalidPhone, mask_phone, normalize_mobile
from services.core.problems import Conflict, NotFound, Problem, ValidationProblem
from services.identity.accounts import find_by_username, otp_phones
from services.identity.context import IdentityContext
from services.identity.login import throttle_key
from services.identity.models import Account, Flow, LoginThrottle, OtpPhone, RefreshToken, new_id
from services.identity.person import person_of_account
from services.identity.registration import check_password
from services.identity.unit_of_work import transaction

PASSWORD_RESET = "password_reset"  # noqa: S105 - a flow kind
PHONE_ADD = "phone_add"
OTP_SENT, OTP_VERIFIED, COMPLETED = "otp_sent", "otp_verified", "completed"


class PasswordResets:
    """Citizen ID -> OTP to the OTP phone -> new password; same answers for unknown IDs."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def start(self, username: str) -> dict[str, Any]:
        now = self.ctx.clock()
        with transaction(self.ctx.sessions) as session:
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
            # An unknown account gets a decoy challenge: same answer, nothing sent.
            otp = self.ctx.otp.send(
                session,
                flow_id=flow.id,
                purpose=PASSWORD_RESET,
                template=Template.OTP_PASSWORD_RESET,
                phone=phone,
                account_id=flow.account_id,
                fresh=True,
            )
            return {"id": flow.id, "otp": _without_destination(otp.to_dict())}

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

    def resend(self, flow_id: str) -> dict[str, Any]:
        with transaction(self.ctx.sessions) as session:
            flow = self._open(session, flow_id, OTP_SENT)
            otp = self.ctx.otp.send(
                session,
                flow_id=flow.id,
                purpose=PASSWORD_RESET,
                template=Template.OTP_PASSWORD_RESET,
                phone=flow.phone,
                account_id=flow.account_id,
                resend=True,
            )
            return {"otp": _without_destination(otp.to_dict())}

    def verify(self, flow_id: str, code: str) -> dict[str, Any]:
        with transaction(self.ctx.sessions) as session:
            flow = self._open(session, flow_id, OTP_SENT)
            self.ctx.otp.verify(session, flow_id=flow.id, purpose=PASSWORD_RESET, code=code)
            flow.status = OTP_VERIFIED
            return {"id": flow.id, "status": OTP_VERIFIED}

    def complete(self, flow_id: str, password: str, confirmation: str) -> dict[str, Any]:
        with transaction(self.ctx.sessions) as session:
            flow = self._open(session, flow_id, OTP_VERIFIED)
            account = session.get(Account, flow.account_id)
            if account is None:
                raise NotFound()
            personal = person_of_account(session, account)
        check_password(password, confirmation, personal)
        password_hash = self.ctx.hashing.hash(password)
        with transaction(self.ctx.sessions) as session:
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
            return {"status": COMPLETED}


def _without_destination(otp: dict[str, Any]) -> dict[str, Any]:
    # Showing where the code went would tell whether the account exists.
    return {k: v for k, v in otp.items() if k != "sent_to"}


class PhoneAdditions:
    """An account holder adds an OTP phone after proving it with an OTP."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def start(self, account_id: str, raw_phone: str) -> dict[str, Any]:
        try:
            phone = normalize_mobile(raw_phone)
        except InvalidPhone as exc:
            raise ValidationProblem(
                errors={"phone": ["Số điện thoại di động Việt Nam không hợp lệ."]}
            ) from exc
        now = self.ctx.clock()
        with transaction(self.ctx.sessions) as session:
            if any(p.phone == phone for p in otp_phones(session, account_id)):
                raise ValidationProblem(
                    errors={"phone": ["Số điện thoại này đã là số nhận OTP của tài khoản."]}
                )
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
            otp = self.ctx.otp.send(
                session,
                flow_id=flow.id,
                purpose=PHONE_ADD,
                template=Template.OTP_PHONE_CHANGE,
                phone=phone,
                account_id=account_id,
                fresh=True,
            )
            return {"id": flow.id, "otp": otp.to_dict()}

    def verify(self, account_id: str, flow_id: str, code: str) -> dict[str, Any]:
        with transaction(self.ctx.sessions) as session:
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
            self.ctx.otp.verify(session, flow_id=flow.id, purpose=PHONE_ADD, code=code)
            flow.status = COMPLETED
            row = OtpPhone(
                account_id=account_id,
                phone=flow.new_phone,
                is_default=False,
                created_at=self.ctx.clock(),
            )
            session.add(row)
            session.flush()
            return {"id": row.id, "phone": mask_phone(row.phone), "is_default": False}
