"""Access tokens (EdDSA JWT) and rotating opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.core.auth import JwksCache
from services.core.clock import utcnow
from services.core.problems import Unauthorized
from services.identity.config import IdentityConfig
from services.identity.keys import ALGORITHM, KeyRing
from services.identity.models import Account, RefreshToken, SessionFamily


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


class LocalJwks(JwksCache):
    """Identity verifies its own tokens from its key table, not over HTTP."""

    def __init__(self, keys: KeyRing) -> None:
        self.ring = keys
        super().__init__(jwks={"keys": []})

    def key(self, kid: str) -> Any:
        if kid not in self._keys:
            self._load(self.ring.jwks())
        return self._keys.get(kid)


class TokenIssuer:
    """Signs access tokens and keeps refresh-token families."""

    def __init__(
        self,
        keys: KeyRing,
        config: IdentityConfig,
        issuer: str,
        audience: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.keys = keys
        self.config = config
        self.issuer = issuer
        self.audience = audience
        self.clock = clock

    def access_token(self, session: Session, account: Account, family_id: str | None = None) -> str:
        now = self.clock()
        claims: dict[str, Any] = {
            "sub": account.id,
            "name": account.full_name,
            "roles": account.role_list,
            "loa": account.verification_level,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.config.access_token_ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if account.agency:
            claims["agency"] = account.agency
        if family_id:
            claims["sid"] = family_id  # the session (refresh family) this token belongs to
        kid, private = self.keys.signing_key(session)
        return jwt.encode(claims, private, algorithm=ALGORITHM, headers={"kid": kid})

    def _new_refresh(self, session: Session, account_id: str, family_id: str) -> str:
        token = secrets.token_urlsafe(32)  # 256 bits
        now = self.clock()
        session.add(
            RefreshToken(
                family_id=family_id,
                account_id=account_id,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=now + timedelta(seconds=self.config.refresh_token_ttl_seconds),
            )
        )
        return token

    def issue(
        self,
        session: Session,
        account: Account,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """A new pair starting a new refresh family (a login, a session)."""
        family_id = str(uuid.uuid4())
        now = self.clock()
        session.add(
            SessionFamily(
                id=family_id,
                account_id=account.id,
                created_at=now,
                last_used_at=now,
                ip=(ip or "")[:64] or None,
                user_agent=(user_agent or "")[:300] or None,
            )
        )
        refresh = self._new_refresh(session, account.id, family_id)
        return TokenPair(
            self.access_token(session, account, family_id),
            refresh,
            self.config.access_token_ttl_seconds,
        )

    def refresh(self, session: Session, presented: str) -> TokenPair | None:
        """Spend a refresh token for a new pair. None when refused.

        A spent or revoked token presented again revokes its whole family: someone
        holds a copy. The caller commits in both cases.
        """
        row = session.scalars(
            select(RefreshToken)
            .where(RefreshToken.token_hash == token_hash(presented))
            .with_for_update()
        ).first()
        now = self.clock()
        if row is None:
            return None
        if row.used_at is not None or row.revoked_at is not None:
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return None
        if row.expires_at <= now:
            return None
        account = session.get(Account, row.account_id)
        if account is None:
            return None
        row.used_at = now
        family = session.get(SessionFamily, row.family_id)
        if family is not None:
            family.last_used_at = now
        refresh = self._new_refresh(session, account.id, row.family_id)
        return TokenPair(
            self.access_token(session, account, row.family_id),
            refresh,
            self.config.access_token_ttl_seconds,
        )


def refused() -> Unauthorized:
    return Unauthorized("invalid_token")
