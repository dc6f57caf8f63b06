"""What the identity domain needs, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.bus.envelope import utcnow
from services.core.config import ServiceSettings
from services.identity.carrier import CarrierRegistry
from services.identity.config import IdentityConfig
from services.identity.keys import KeyRing
from services.identity.otp import OtpFlow
from services.identity.passwords import PasswordHashing
from services.identity.tokens import TokenIssuer


@dataclass(frozen=True)
class Caller:
    """Where a request came from, for the access log."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass
class IdentityContext:
    """Settings, storage and collaborators shared by the registration and login flows."""

    config: IdentityConfig
    sessions: sessionmaker[Session]
    otp: OtpFlow
    hashing: PasswordHashing
    carrier: CarrierRegistry
    keys: KeyRing
    tokens: TokenIssuer
    clock: Callable[[], datetime]

    @classmethod
    def build(
        cls,
        settings: ServiceSettings,
        config: IdentityConfig,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
    ) -> IdentityContext:
        keys = KeyRing(sessions, config, clock)
        return cls(
            config=config,
            sessions=sessions,
            otp=OtpFlow(config, clock),
            hashing=PasswordHashing(config.argon2, config.argon2.concurrency),
            carrier=CarrierRegistry(config),
            keys=keys,
            tokens=TokenIssuer(keys, config, settings.token_issuer, settings.token_audience, clock),
            clock=clock,
        )
