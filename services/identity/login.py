"""Two-step login (password, then OTP), choosing another OTP phone, lost-phone change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.bus import record_event
from services.core.contracts.identity import PHONE_CHANGED
from services.core.contracts.notify import Channel, Template, send_notification
from services.core.phones import InvalidPhone, mask_phone, normalize_mobile
from services.core.problems import (
    Conflict,
    NotFound,
    Problem,
    TooManyRequests,
    ValidationProblem,
    kept,
)
from services.identity.accounts import find_by_username, log_access, otp_phones
from services.identity.carrier import matches
from services.identity.models import Account, Flow, LoginThrottle, OtpPhone, new_id
from services.identity.otp import LOGIN as LOGIN_OTP
from services.identity.otp import PHONE_CHANGE as PHONE_CHANGE_OTP
from services.identity.otp import OtpState, OtpStep
from services.identity.problems import OtpNotDelivered

if TYPE_CHECKING:
    from services.identity.context import Caller, IdentityContext

LOGIN = "login"
PHONE_CHANGE = "phone_change"
OTP_SENT, PHONE_VERIFIED, COMPLETED = "otp_sent", "phone_verified", "completed"


@dataclass(frozen=True)
class LoginStarted:
    """Step 1 accepted: the flow, its OTP and the account's OTP phones (masked)."""

    id: str
    otp: OtpState
    otp_phones: list[str]

    @property
    def problem(self) -> OtpNotDelivered | None:
        return OtpStep(otp=self.otp).problem


def throttle_key(username: str) -> str:
    return username.strip().casefold()[:64]


class Logins:
    """Login flows: a password step opens a flow that an OTP (or a phone change) ends."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    # -- step 1 ----------------------------------------------------------------------

    def _throttle_delay(self, failures: int) -> int:
        config = self.ctx.config
        extra = failures - config.login_free_failures
        if extra < 0:
            return 0
        return int(
            min(config.login_throttle_max_seconds, config.login_throttle_base_seconds * 2**extra)
        )

    def start(self, username: str, password: str, caller: Caller) -> LoginStarted:
        """Check the password (same answer and cost whether or not the account exists)."""
        key = throttle_key(username)
        now = self.ctx.clock()
        with self.ctx.transaction() as session:
            throttle = session.get(LoginThrottle, key)
            throttled_before = throttle is not None
            if throttle and throttle.blocked_until and throttle.blocked_until > now:
                retry = (throttle.blocked_until - now).total_seconds()
                raise TooManyRequests("login_throttled", retry_after=int(retry + 0.999))
            account = find_by_username(session, username.strip())
            password_hash = account.password_hash if account else None
        ok = self.ctx.hashing.verify(password_hash, password)
        now = self.ctx.clock()
        with self.ctx.transaction() as session:
            if not ok or account is None:
                self._record_failure(session, key, now)
                if account is not None:
                    log_access(
                        session,
                        account.id,
                        at=now,
                        method="password",
                        result="failed",
                        **caller.__dict__,
                    )
                raise kept(Problem("invalid_credentials", status=401))
            # Failures are forgotten on success (none to forget when there was no row).
            throttle = session.get(LoginThrottle, key) if throttled_before else None
            if throttle is not None:
                session.delete(throttle)
            if password_hash and self.ctx.hashing.needs_rehash(password_hash):
                stored = session.get(Account, account.id)
                if stored is not None:
                    stored.password_hash = self.ctx.hashing.hash(password)
            phones = otp_phones(session, account.id)
            if not phones:
                raise Problem("phone_not_found", status=409)
            flow = Flow(
                id=new_id(),
                kind=LOGIN,
                account_id=account.id,
                status=OTP_SENT,
                phone=phones[0].phone,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ctx.config.flow_ttl_seconds),
                **caller.__dict__,
            )
            # The code first: its send limit is a query, and nothing is pending before it,
            # so the commit writes the flow, the code and the log line in one flush. A
            # spent budget keeps the flow (delivery failed): another phone or a phone
            # change is still a way through for the owner.
            otp = self.ctx.otp.open(
                session,
                LOGIN_OTP,
                flow_id=flow.id,
                phone=flow.phone,
                account_id=account.id,
                fresh=True,
            )
            session.add(flow)
            log_access(
                session, account.id, at=now, method="password", result="accepted", **caller.__dict__
            )
            return LoginStarted(
                id=flow.id, otp=otp, otp_phones=[mask_phone(p.phone) for p in phones]
            )

    def _record_failure(self, session: Session, key: str, now: datetime) -> None:
        throttle = session.get(LoginThrottle, key, with_for_update=True)
        if throttle is None:
            throttle = LoginThrottle(username=key, failures=0)
            session.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        delay = self._throttle_delay(throttle.failures)
        if delay:
            throttle.blocked_until = now + timedelta(seconds=delay)

    # -- step 2 ----------------------------------------------------------------------

    def _open(self, session: Session, flow_id: str, *statuses: str) -> Flow:
        flow = session.scalars(
            select(Flow).where(Flow.id == flow_id, Flow.kind == LOGIN).with_for_update()
        ).first()
        if flow is None or flow.account_id is None:
            raise NotFound()
        if flow.expires_at <= self.ctx.clock():
            raise Problem("flow_expired", status=410)
        if flow.status not in statuses:
            raise Conflict("invalid_step")
        return flow

    def resend(self, flow_id: str, phone_index: int | None) -> OtpStep:
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            assert flow.account_id is not None
            if phone_index is not None:
                phones = otp_phones(session, flow.account_id)
                if not 0 <= phone_index < len(phones):
                    raise ValidationProblem(
                        "phone_not_found", errors={"phone_index": ["Không có số điện thoại này."]}
                    )
                flow.phone = phones[phone_index].phone
            otp = self.ctx.otp.resend(
                session, LOGIN_OTP, flow_id=flow.id, phone=flow.phone, account_id=flow.account_id
            )
            return OtpStep(otp=otp)

    def otp_state(self, flow_id: str, phone_change: bool = False) -> OtpState:
        """The login's (or its phone change's) current code, as the page follows it."""
        with self.ctx.transaction() as session:
            flow = session.get(Flow, flow_id)
            if flow is None or flow.kind != LOGIN or flow.account_id is None:
                raise NotFound()
            if flow.expires_at <= self.ctx.clock():
                raise Problem("flow_expired", status=410)
            purpose = PHONE_CHANGE_OTP if phone_change else LOGIN_OTP
            state = self.ctx.otp.state(session, purpose, flow.id)
            if state is None:
                raise NotFound()
            return state

    def verify(self, flow_id: str, code: str, caller: Caller) -> dict[str, Any]:
        self.ctx.keys.ensure_key()
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            account = session.get(Account, flow.account_id)
            if account is None:
                raise NotFound()
            try:
                self.ctx.otp.verify(session, LOGIN_OTP, flow_id=flow.id, code=code)
            except Problem:
                log_access(
                    session,
                    account.id,
                    at=self.ctx.clock(),
                    method="otp",
                    result="failed",
                    **caller.__dict__,
                )
                raise
            return self._finish(session, flow, account, caller, "otp")

    def _finish(
        self, session: Session, flow: Flow, account: Account, caller: Caller, method: str
    ) -> dict[str, Any]:
        flow.status = COMPLETED
        log_access(
            session,
            account.id,
            at=self.ctx.clock(),
            method=method,
            result="success",
            **caller.__dict__,
        )
        return self.ctx.tokens.issue(
            session, account, ip=caller.ip, user_agent=caller.user_agent
        ).to_dict()

    # -- lost OTP phone ---------------------------------------------------------------

    def start_phone_change(self, flow_id: str, raw_phone: str, caller: Caller) -> OtpStep:
        """The carrier is asked first: a number not listed under the account's person is
        refused before anything is sent (a new number starts over, at once)."""
        try:
            phone = normalize_mobile(raw_phone)
        except InvalidPhone as exc:
            raise ValidationProblem(
                errors={"phone": ["Số điện thoại di động Việt Nam không hợp lệ."]}
            ) from exc
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            account = session.get(Account, flow.account_id)
            if account is None:
                raise NotFound()
        self._check_subscriber(account, phone, flow_id, caller)
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            flow.new_phone = phone
            otp = self.ctx.otp.open(
                session, PHONE_CHANGE_OTP, flow_id=flow.id, phone=phone, account_id=flow.account_id
            )
            return OtpStep(otp=otp)

    def _check_subscriber(self, account: Account, phone: str, flow_id: str, caller: Caller) -> None:
        """422 subscriber_mismatch (logged) unless the carrier lists `phone` under the person."""
        subscriber = self.ctx.carrier.lookup(phone)
        if (
            account.citizen_id is not None
            and account.date_of_birth is not None
            and matches(subscriber, account.citizen_id, account.full_name, account.date_of_birth)
        ):
            return
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT, PHONE_VERIFIED)
            flow.status = OTP_SENT  # a mismatch spends the code: a new number starts over
            flow.new_phone = None
            log_access(
                session,
                account.id,
                at=self.ctx.clock(),
                method="phone_change",
                result="subscriber_mismatch",
                **caller.__dict__,
            )
            raise kept(Problem("subscriber_mismatch", status=422))

    def resend_phone_change(self, flow_id: str) -> OtpStep:
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT)
            if flow.new_phone is None:
                raise Conflict("invalid_step")
            otp = self.ctx.otp.resend(
                session,
                PHONE_CHANGE_OTP,
                flow_id=flow.id,
                phone=flow.new_phone,
                account_id=flow.account_id,
            )
            return OtpStep(otp=otp)

    def verify_phone_change(self, flow_id: str, code: str, caller: Caller) -> dict[str, Any]:
        """OTP to the new number, then the carrier must list it under the account's person."""
        self.ctx.keys.ensure_key()
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, OTP_SENT, PHONE_VERIFIED)
            if flow.new_phone is None:
                raise Conflict("invalid_step")
            if flow.status == OTP_SENT:
                self.ctx.otp.verify(session, PHONE_CHANGE_OTP, flow_id=flow.id, code=code)
                # Kept even if the carrier is down, so a retry needs no new code.
                flow.status = PHONE_VERIFIED
            new_phone = flow.new_phone
            account = session.get(Account, flow.account_id)
            if account is None:
                raise NotFound()
        # Asked again: the carrier's record may have changed since the code was sent.
        self._check_subscriber(account, new_phone, flow_id, caller)
        with self.ctx.transaction() as session:
            flow = self._open(session, flow_id, PHONE_VERIFIED)
            account = session.get(Account, flow.account_id)
            assert account is not None
            old_phone = self._replace_default_phone(session, account.id, new_phone)
            self._announce_phone_change(session, account, old_phone, new_phone)
            return self._finish(session, flow, account, caller, "phone_change")

    def _replace_default_phone(self, session: Session, account_id: str, new_phone: str) -> str:
        now = self.ctx.clock()
        phones = otp_phones(session, account_id)
        old = phones[0]
        old.is_default = False
        old.removed_at = now  # the lost phone no longer receives codes
        existing = next((p for p in phones if p.phone == new_phone and p is not old), None)
        if existing is not None:
            existing.is_default = True
        else:
            session.add(
                OtpPhone(account_id=account_id, phone=new_phone, is_default=True, created_at=now)
            )
        return old.phone

    def _announce_phone_change(
        self, session: Session, account: Account, old_phone: str, new_phone: str
    ) -> None:
        channels = [Channel.SMS, Channel.INBOX]
        if account.email:
            channels.append(Channel.EMAIL)
        send_notification(
            session,
            Template.OTP_PHONE_CHANGED,
            channels=channels,
            personalisation={
                "full_name": account.full_name,
                "new_phone_masked": mask_phone(new_phone),
            },
            account_id=account.id,
            phone=old_phone,
            email=account.email,
            reference=account.id,
        )
        record_event(
            session,
            PHONE_CHANGED,
            {
                "account_id": account.id,
                "phone_masked": mask_phone(new_phone),
                "previous_phone_masked": mask_phone(old_phone),
            },
            subject=account.id,
        )
