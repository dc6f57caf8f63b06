"""Identity's one context: what the web app, the worker and `manage` all build.

`build_context()` reads the settings, opens the database and assembles the
collaborators (OTP flow, password hashing, carrier, signing keys, tokens). The domain
flows (registrations, logins, password resets, phone additions) take it as their one
argument; routes reach it with `current_context(IdentityContext)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from services.core.auth import TokenVerifier
from services.core.clock import utcnow
from services.core.config import ServiceSettings
from services.core.service import ServiceContext, ServiceDatabase
from services.identity import SERVICE, problems
from services.identity.carrier import CarrierRegistry
from services.identity.config import IdentityConfig
from services.identity.keys import KeyRing
from services.identity.otp import OtpFlow
from services.identity.passwords import PasswordHashing
from services.identity.tokens import LocalJwks, TokenIssuer

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Caller:
    """Where a request came from, for the access log."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass
class IdentityContext(ServiceContext):
    """Settings, storage and the collaborators the domain flows share."""

    config: IdentityConfig
    keys: KeyRing
    otp: OtpFlow = field(init=False)
    hashing: PasswordHashing = field(init=False)
    carrier: CarrierRegistry = field(init=False)
    tokens: TokenIssuer = field(init=False)

    def __post_init__(self) -> None:
        config, clock, settings = self.config, self.clock, self.settings
        self.otp = OtpFlow(config, clock)
        self.hashing = PasswordHashing(config.argon2, config.argon2.concurrency)
        self.carrier = CarrierRegistry(config)
        self.tokens = TokenIssuer(
            self.keys, config, settings.token_issuer, settings.token_audience, clock
        )


def build_context(
    settings: ServiceSettings | None = None,
    config: IdentityConfig | None = None,
    *,
    database: ServiceDatabase | None = None,
    verifier: TokenVerifier | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> IdentityContext:
    """The identity context from the environment (or the parts a test gives)."""
    problems.register()
    settings = settings or ServiceSettings.from_env(SERVICE)
    config = config or IdentityConfig.from_env()
    database = database or ServiceDatabase.open(settings)
    keys = KeyRing(database.sessions, config, clock)
    # Identity checks its own tokens against its own keys, not over HTTP.
    verifier = verifier or TokenVerifier(
        LocalJwks(keys), issuer=settings.token_issuer, audience=settings.token_audience
    )
    return IdentityContext(
        settings=settings,
        database=database,
        verifier=verifier,
        clock=clock,
        config=config,
        keys=keys,
    )
