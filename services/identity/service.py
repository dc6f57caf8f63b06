"""The identity service's domain, assembled: the object the routes and commands call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.auth import TokenVerifier
from services.core.bus.envelope import utcnow
from services.core.config import ServiceSettings
from services.identity.config import IdentityConfig
from services.identity.context import IdentityContext
from services.identity.login import Logins
from services.identity.recovery import PasswordResets, PhoneAdditions
from services.identity.registration import Registrations
from services.identity.tokens import LocalJwks


class Identity:
    """Registration, login, recovery, OTP phones and tokens of one identity database."""

    def __init__(
        self,
        settings: ServiceSettings,
        config: IdentityConfig,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ctx = IdentityContext.build(settings, config, sessions, clock)
        self.registrations = Registrations(self.ctx)
        self.logins = Logins(self.ctx)
        self.password_resets = PasswordResets(self.ctx)
        self.phone_additions = PhoneAdditions(self.ctx)
        self.verifier = TokenVerifier(
            LocalJwks(self.ctx.keys),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
        )
