"""Access tokens for tests, signed like identity signs them, with a JWKS to verify them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.core.auth import DEFAULT_AUDIENCE, JwksCache, TokenVerifier

TEST_ISSUER = "https://test.portal/api/identity"


class TokenFactory:
    """An RSA key of its own; issue(...) signs tokens, verifier() checks them."""

    def __init__(self, kid: str | None = None, issuer: str = TEST_ISSUER) -> None:
        self.kid = kid or uuid.uuid4().hex[:8]
        self.issuer = issuer
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(JwksCache(jwks=self.jwks()), issuer=self.issuer)

    def issue(
        self,
        sub: str | None = None,
        roles: tuple[str, ...] = ("citizen",),
        *,
        agency: str | None = None,
        name: str = "Nguyễn Văn A",
        loa: int = 2,
        expires_in: int = 900,
        audience: str = DEFAULT_AUDIENCE,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": sub or str(uuid.uuid4()),
            "name": name,
            "roles": list(roles),
            "loa": loa,
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            **extra,
        }
        if agency is not None:
            claims["agency"] = agency
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})
