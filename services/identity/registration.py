"""Registration of a citizen by mobile subscriber (carrier-verified, level 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from services.core.bus import record_event
from services.core.contracts.identity import ACCOUNT_REGISTERED
from services.core.contracts.notify import Channel, Template, send_notification
from services.core.phones import InvalidPhone, mask_phone, normalize_mobile
from services.core.problems import Conflict, NotFound, Problem, ValidationProblem
from services.identity.accounts import (
    CITIZEN,
    LOA_CARRIER_VERIFIED,
    NewAccount,
    create_account,
    find_by_username,
    normalize_full_name,
)
from services.identity.carrier import matches
from services.identity.citizen_ids import citizen_id_errors
from services.identity.models import Flow, OtpChallengeRow, OtpSend, Registration, new_id
from services.identity.otp import REGISTRATION, OtpState, OtpStep, StepStatus
from services.identity.password_rules import Person, weak_password
from services.identity.passwords import password_problems
from services.identity.person import person_of_registration

if TYPE_CHECKING:
    from services.identity.context import IdentityContext

PURPOSE = REGISTRATION.name
OTP_SENT, OTP_VERIFIED, COMPLETED = "otp_sent", "otp_verified", "completed"

FIELD_MESSAGES = {
    "citizen_id_format": "Số CMT/CCCD phải gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMT).",
    "citizen_id_province": "Ba chữ số đầu của CCCD không phải mã tỉnh hợp lệ.",
    "citizen_id_gender_century": "Chữ số thứ 4 của CCCD không khớp với giới tính và năm sinh.",
    "citizen_id_birth_year": "Chữ số thứ 5 và 6 của CCCD không khớp với năm sinh.",
    "phone_invalid": "Số điện thoại di động Việt Nam không hợp lệ.",
    "full_name_invalid": "Họ và tên không hợp lệ.",
    "date_of_birth_future": "Ngày sinh không hợp lệ.",
}


@dataclass(frozen=True)
class AccountCreated:
    account_id: str
    verification_level: int


@dataclass(frozen=True)
class RegistrationRequest:
    citizen_id: str
    full_name: str
    date_of_birth: date
    gender: str
    phone: str
    email: str | None = None
    address: str | None = None


def _invalid(errors: dict[str, list[str]]) -> ValidationProblem:
    return ValidationProblem(
        errors={f: [FIELD_MESSAGES[c] for c in codes] for f, codes in errors.items()},
        error_codes=errors,
    )


def check_request(request: RegistrationRequest, today: date) -> RegistrationRequest:
    """Validated and normalised (E.164 phone, NFC name) or a 422 listing every problem."""
    errors: dict[str, list[str]] = {}
    citizen_id = request.citizen_id.strip()
    id_errors = citizen_id_errors(citizen_id, request.date_of_birth, request.gender)
    if id_errors:
        errors["citizen_id"] = id_errors
    try:
        phone = normalize_mobile(request.phone)
    except InvalidPhone:
        errors["phone"] = ["phone_invalid"]
        phone = ""
    full_name = normalize_full_name(request.full_name)
    if not full_name or any(c.isdigit() for c in full_name) or len(full_name) > 200:
        errors["full_name"] = ["full_name_invalid"]
    if request.date_of_birth > today:
        errors["date_of_birth"] = ["date_of_birth_future"]
    if errors:
        raise _invalid(errors)
    return RegistrationRequest(
        citizen_id=citizen_id,
        full_name=full_name,
        date_of_birth=request.date_of_birth,
        gender=request.gender,
        phone=phone,
        email=(request.email or "").strip().lower() or None,
        address=normalize_full_name(request.address or "") or None,
    )


class Registrations:
    """The four steps: start (carrier check, OTP), resend, verify, complete."""

    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx

    def start(self, request: RegistrationRequest) -> OtpStep:
        """The carrier first: only a caller it confirms may learn that an account exists."""
        now = self.ctx.clock()
        request = check_request(request, now.date())
        # The carrier is asked outside any transaction: no lock is held on a remote call.
        subscriber = self.ctx.carrier.lookup(request.phone)
        if not matches(subscriber, request.citizen_id, request.full_name, request.date_of_birth):
            raise Problem("subscriber_mismatch", status=422)
        with self.ctx.transaction() as session:
            if find_by_username(session, request.citizen_id) is not None:
                raise Conflict("account_exists")
            registration = Registration(
                id=new_id(),
                status=OTP_SENT,
                created_at=now,
                expires_at=now + timedelta(seconds=self.ctx.config.registration_ttl_seconds),
                **request.__dict__,
            )
            session.add(registration)
            otp = self.ctx.otp.open(
                session, REGISTRATION, flow_id=registration.id, phone=request.phone, fresh=True
            )
            return OtpStep(id=registration.id, otp=otp)

    def _open(self, session: Any, registration_id: str) -> Registration:
        registration = session.scalars(
            select(Registration).where(Registration.id == registration_id).with_for_update()
        ).first()
        if registration is None:
            raise NotFound()
        if registration.status == COMPLETED:
            raise Conflict("invalid_step")
        if registration.expires_at <= self.ctx.clock():
            raise Problem("flow_expired", status=410)
        return registration  # type: ignore[no-any-return]

    def resend(self, registration_id: str) -> OtpStep:
        with self.ctx.transaction() as session:
            registration = self._open(session, registration_id)
            otp = self.ctx.otp.resend(
                session, REGISTRATION, flow_id=registration.id, phone=registration.phone
            )
            return OtpStep(otp=otp)

    def otp_state(self, registration_id: str) -> OtpState:
        with self.ctx.transaction() as session:
            registration = session.get(Registration, registration_id)
            if registration is None:
                raise NotFound()
            if registration.expires_at <= self.ctx.clock():
                raise Problem("flow_expired", status=410)
            state = self.ctx.otp.state(session, REGISTRATION, registration.id)
            if state is None:
                raise NotFound()
            return state

    def verify(self, registration_id: str, code: str) -> StepStatus:
        with self.ctx.transaction() as session:
            registration = self._open(session, registration_id)
            self.ctx.otp.verify(session, REGISTRATION, flow_id=registration.id, code=code)
            registration.status = OTP_VERIFIED
            return StepStatus(id=registration.id, status=OTP_VERIFIED)

    def complete(self, registration_id: str, password: str, confirmation: str) -> AccountCreated:
        with self.ctx.transaction() as session:
            registration = self._open(session, registration_id)
            if registration.status != OTP_VERIFIED:
                raise Conflict("otp_not_verified")
        check_password(password, confirmation, person_of_registration(registration))
        password_hash = self.ctx.hashing.hash(password)
        try:
            return self._create_account(registration_id, password_hash)
        except IntegrityError as exc:
            # Another registration of the same citizen ID won the race.
            raise Conflict("account_exists") from exc

    def _create_account(self, registration_id: str, password_hash: str) -> AccountCreated:
        with self.ctx.transaction() as session:
            registration = self._open(session, registration_id)
            if find_by_username(session, registration.citizen_id) is not None:
                raise Conflict("account_exists")
            now = self.ctx.clock()
            account = create_account(
                session,
                NewAccount(
                    username=registration.citizen_id,
                    citizen_id=registration.citizen_id,
                    full_name=registration.full_name,
                    date_of_birth=registration.date_of_birth,
                    gender=registration.gender,
                    email=registration.email,
                    address=registration.address,
                    phone=registration.phone,
                    password_hash=password_hash,
                    roles=(CITIZEN,),
                    verification_level=LOA_CARRIER_VERIFIED,
                ),
                now,
            )
            registration.status = COMPLETED
            registration.account_id = account.id
            record_event(
                session,
                ACCOUNT_REGISTERED,
                {
                    "account_id": account.id,
                    "registration_id": registration.id,
                    "verification_level": LOA_CARRIER_VERIFIED,
                    "phone_masked": mask_phone(registration.phone),
                    "roles": [CITIZEN],
                },
                subject=account.id,
            )
            channels = [Channel.SMS, Channel.INBOX]
            if registration.email:
                channels.append(Channel.EMAIL)
            send_notification(
                session,
                Template.ACCOUNT_CREATED,
                channels=channels,
                personalisation={"full_name": registration.full_name},
                account_id=account.id,
                phone=registration.phone,
                email=registration.email,
                reference=registration.id,
            )
            return AccountCreated(account_id=account.id, verification_level=LOA_CARRIER_VERIFIED)

    def purge_expired(self) -> int:
        """Delete registrations, flows and OTPs past their purge time; returns the count."""
        now = self.ctx.clock()
        cutoff = now - timedelta(seconds=self.ctx.config.registration_purge_after_seconds)
        with self.ctx.transaction() as session:
            stale = select(Registration.id).where(Registration.expires_at < cutoff)
            old_flows = select(Flow.id).where(Flow.expires_at < cutoff)
            session.execute(
                delete(OtpChallengeRow).where(
                    OtpChallengeRow.flow_id.in_(stale) | OtpChallengeRow.flow_id.in_(old_flows)
                )
            )
            gone = session.execute(delete(Registration).where(Registration.expires_at < cutoff))
            session.execute(delete(Flow).where(Flow.expires_at < cutoff))
            session.execute(delete(OtpSend).where(OtpSend.sent_at < now - timedelta(hours=1)))
            return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def check_password(password: str, confirmation: str, personal: tuple[str, ...] | Person) -> None:
    """422 weak_password (which rule failed, in Vietnamese) or password_mismatch."""
    if isinstance(personal, Person):
        problems = password_problems(password, person=personal)
    else:
        forbidden = tuple(p for item in personal for p in _variants(item))
        problems = password_problems(password, forbidden=forbidden)
    if problems:
        raise weak_password(problems)
    if password != confirmation:
        raise Problem("password_mismatch", status=422)


def _variants(value: str) -> tuple[str, ...]:
    """A phone is also forbidden in its national form (0912...) and without the plus."""
    if value.startswith("+84"):
        return (value, value[1:], "0" + value[3:], value[3:])
    return (value,)
