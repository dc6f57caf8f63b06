"""Tables of the identity service (SQLAlchemy 2.0 typed models)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.core.bus import BigId
from services.core.db import UtcDateTime


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    """Metadata of the identity service's own tables (the bus tables are in BusBase)."""


class Account(Base):
    """A citizen (username = citizen ID) or a staff member (officer, admin)."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    citizen_id: Mapped[str | None] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(8))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(64))  # comma-separated
    agency: Mapped[str | None] = mapped_column(String(64))
    verification_level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class OtpPhone(Base):
    """A phone that receives the account's OTPs; one is the default."""

    __tablename__ = "otp_phones"
    __table_args__ = (Index("ix_otp_phones_account", "account_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Registration(Base):
    """A registration by mobile subscriber, until the account exists (then purged later)."""

    __tablename__ = "registrations"
    __table_args__ = (Index("ix_registrations_expires_at", "expires_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    citizen_id: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Flow(Base):
    """A login, password reset or phone addition in progress, between its steps."""

    __tablename__ = "flows"
    __table_args__ = (
        Index("ix_flows_expires_at", "expires_at"),
        Index("ix_flows_account_kind", "account_id", "kind", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))  # login, password_reset, phone_add
    account_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str | None] = mapped_column(String(16))  # where the OTP goes now
    new_phone: Mapped[str | None] = mapped_column(String(16))  # phone change / addition
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OtpChallengeRow(Base):
    """The current OTP of one step of a flow: only its HMAC is stored."""

    __tablename__ = "otp_challenges"
    __table_args__ = (
        UniqueConstraint("flow_id", "purpose", name="uq_otp_challenges_flow"),
        Index("ix_otp_challenges_command_id", "command_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    flow_id: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(24))
    phone: Mapped[str | None] = mapped_column(String(16))
    code_hmac: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sends: Mapped[int] = mapped_column(Integer, default=1)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The notify.send command that carried the current code, and what notify reported.
    command_id: Mapped[str | None] = mapped_column(String(36))
    delivery: Mapped[str | None] = mapped_column(String(16))  # pending, delivered, failed
    delivery_reason: Mapped[str | None] = mapped_column(String(48))


class OtpSend(Base):
    """One OTP sent to a phone, to cap sends per phone and purpose per hour."""

    __tablename__ = "otp_sends"
    __table_args__ = (
        Index("ix_otp_sends_phone_sent_at", "phone", "sent_at"),
        Index("ix_otp_sends_flow", "flow_id", "phone"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    purpose: Mapped[str | None] = mapped_column(String(24))
    flow_id: Mapped[str | None] = mapped_column(String(36))


class LoginThrottle(Base):
    """Failed password attempts per username, known or not (no enumeration by throttling)."""

    __tablename__ = "login_throttles"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RefreshToken(Base):
    """An opaque refresh token, stored as its SHA-256; spent on use, revoked by family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AccessLogEntry(Base):
    """One login attempt of an account: when, from where, how, and what came of it."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(24))
    result: Mapped[str] = mapped_column(String(24))


class SigningKey(Base):
    """An Ed25519 signing key; the private half encrypted at rest (Fernet)."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    active_from: Mapped[datetime] = mapped_column(UtcDateTime())


class SessionFamily(Base):
    """One login's refresh-token family: what the account holder sees as a session."""

    __tablename__ = "session_families"
    __table_args__ = (Index("ix_session_families_account", "account_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # = RefreshToken.family_id
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
