"""Identity's signing keys: Ed25519, stored encrypted, rotated without downtime.

A new key is published in the JWKS `key_publish_delay` before it signs anything, so
every verifier's cached JWKS already knows it; an old key stays published until the
last token it signed has expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.clock import utcnow
from services.identity.config import IdentityConfig
from services.identity.models import SigningKey

ALGORITHM = "EdDSA"


def fernet_for(secret: str) -> Fernet:
    """Fernet keyed by the SHA-256 of the configured secret (any length of secret)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


class KeyRing:
    """Reads, creates and rotates the signing keys of one identity database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: IdentityConfig,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self._fernet = fernet_for(config.key_encryption_secret)
        self._lock = threading.Lock()
        self._cached: tuple[float, str, Ed25519PrivateKey] | None = None
        self._ensured = False

    def _new_key(self, session: Session, active_from: datetime) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        kid = f"{active_from:%Y%m%d}-{uuid.uuid4().hex[:8]}"
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
        jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        row = SigningKey(
            kid=kid,
            algorithm=ALGORITHM,
            public_jwk=json.dumps(jwk),
            private_key_encrypted=self._fernet.encrypt(pem).decode(),
            created_at=self.clock(),
            active_from=active_from,
        )
        session.add(row)
        return row

    def rotate(self) -> SigningKey:
        """Add a key that signs after the publish delay (at once when there is none)."""
        with self.sessions() as session, session.begin():
            has_keys = session.scalar(select(SigningKey.kid).limit(1)) is not None
            delay = self.config.key_publish_delay_seconds if has_keys else 0
            return self._new_key(session, self.clock() + timedelta(seconds=delay))

    def _keys(self, session: Session) -> list[SigningKey]:
        return list(session.scalars(select(SigningKey).order_by(SigningKey.active_from)))

    def published(self, session: Session) -> list[SigningKey]:
        """Keys to publish: future ones, the current one, and ones whose tokens may live."""
        now = self.clock()
        keys = self._keys(session)
        ttl = timedelta(seconds=self.config.access_token_ttl_seconds + 60)
        result = []
        for index, key in enumerate(keys):
            successor = next((k for k in keys[index + 1 :] if k.active_from <= now), None)
            if successor is None or now - successor.active_from < ttl:
                result.append(key)
        return result

    def jwks(self) -> dict[str, Any]:
        with self.sessions() as session:
            return {"keys": [json.loads(k.public_jwk) for k in self.published(session)]}

    def prune(self) -> list[str]:
        """Delete keys no token can still need; returns their kids."""
        with self.sessions() as session, session.begin():
            keep = {k.kid for k in self.published(session)}
            gone = [k for k in self._keys(session) if k.kid not in keep]
            for key in gone:
                session.delete(key)
            return [k.kid for k in gone]

    def ensure_key(self) -> None:
        """Create the first key if there is none (own transaction: call outside any other)."""
        if self._ensured:
            return
        with self.sessions() as session:
            exists = session.scalar(select(SigningKey.kid).limit(1)) is not None
        if not exists:
            self.rotate()
        self._ensured = True

    def signing_key(self, session: Session) -> tuple[str, Ed25519PrivateKey]:
        """The newest active key, read through the caller's session, cached a few seconds."""
        with self._lock:
            cached = self._cached
            if cached and time.monotonic() - cached[0] < self.config.signing_key_cache_seconds:
                return cached[1], cached[2]
            now = self.clock()
            active = [k for k in self._keys(session) if k.active_from <= now]
            if not active:
                raise RuntimeError("no active signing key: KeyRing.ensure_key() was not called")
            row = active[-1]
            private = serialization.load_pem_private_key(
                self._fernet.decrypt(row.private_key_encrypted.encode()), password=None
            )
            assert isinstance(private, Ed25519PrivateKey)
            self._cached = (time.monotonic(), row.kid, private)
            return row.kid, private
