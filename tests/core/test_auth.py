"""Local token verification from JWKS, including key rotation through the JWKS URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.core.auth import JwksCache, TokenVerifier
from services.core.problems import Unauthorized
from tests.support.tokens import TEST_ISSUER, TokenFactory


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A real HTTP server whose JWKS document the test can change."""
    document: dict[str, Any] = {"keys": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", document
    server.shutdown()


def test_a_valid_token_gives_its_claims() -> None:
    tokens = TokenFactory()
    claims = tokens.verifier().verify(tokens.issue("acc-1", ("officer",), agency="000.00.38.H56"))
    assert claims.sub == "acc-1"
    assert claims.has_role("officer") and not claims.has_role("citizen")
    assert claims.agency == "000.00.38.H56"
    assert claims.loa == 2


@pytest.mark.parametrize(
    "token_kwargs",
    [{"expires_in": -10}, {"audience": "someone-else"}],
)
def test_expired_or_foreign_tokens_are_refused(token_kwargs: dict[str, Any]) -> None:
    tokens = TokenFactory()
    with pytest.raises(Unauthorized) as refused:
        tokens.verifier().verify(tokens.issue(**token_kwargs))
    assert refused.value.code == "invalid_token"


def test_a_token_signed_by_another_key_is_refused() -> None:
    ours, theirs = TokenFactory(kid="same"), TokenFactory(kid="same")
    with pytest.raises(Unauthorized):
        ours.verifier().verify(theirs.issue())


def test_a_wrong_issuer_is_refused() -> None:
    tokens = TokenFactory(issuer="https://evil.example")
    verifier = TokenVerifier(JwksCache(jwks=tokens.jwks()), issuer=TEST_ISSUER)
    with pytest.raises(Unauthorized):
        verifier.verify(tokens.issue())


def test_garbage_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TokenFactory().verifier().verify("not.a.token")


def test_a_rotated_key_is_fetched_when_its_kid_appears(
    jwks_server: tuple[str, dict[str, Any]],
) -> None:
    url, document = jwks_server
    old, new = TokenFactory(kid="k1"), TokenFactory(kid="k2")
    document["keys"] = old.jwks()["keys"]
    verifier = TokenVerifier(JwksCache(url=url, min_refresh_interval=0), issuer=TEST_ISSUER)
    assert verifier.verify(old.issue("a")).sub == "a"
    # Identity rotates: the new key is published beside the old one.
    document["keys"] = old.jwks()["keys"] + new.jwks()["keys"]
    assert verifier.verify(new.issue("b")).sub == "b"
    assert verifier.verify(old.issue("c")).sub == "c"


def test_a_province_trusts_the_national_issuer_beside_its_own() -> None:
    own = TokenFactory(issuer="https://dvc.thanhhoa.gov.vn/api/identity")
    nation = TokenFactory(issuer="https://dichvucong.gov.vn/api/identity")
    stranger = TokenFactory(issuer="https://elsewhere/api/identity", kid=nation.kid)
    verifier = TokenVerifier(
        JwksCache(jwks=own.jwks()),
        issuer=own.issuer,
        trusted={nation.issuer: JwksCache(jwks=nation.jwks())},
    )
    assert verifier.verify(own.issue(sub="officer")).sub == "officer"
    assert verifier.verify(nation.issue(sub="citizen")).sub == "citizen"
    with pytest.raises(Unauthorized):
        verifier.verify(stranger.issue())
    # A national token signed by the province's key (or the reverse) is refused.
    forged = TokenFactory(issuer=nation.issuer, kid=nation.kid)
    forged.private_key = own.private_key
    with pytest.raises(Unauthorized):
        verifier.verify(forged.issue())


@pytest.mark.parametrize("kid", [["a"], {"k": 1}, 7])
def test_a_malformed_kid_is_refused_not_an_error(kid: object) -> None:
    tokens = TokenFactory()
    token = tokens.issue()
    import base64

    _header, payload, signature = token.split(".")
    bad = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": kid}).encode())
    with pytest.raises(Unauthorized):
        tokens.verifier().verify(f"{bad.rstrip(b'=').decode()}.{payload}.{signature}")


def test_trusted_issuers_are_read_from_the_environment() -> None:
    from services.core.auth import verifier_for
    from services.core.config import ServiceSettings

    settings = ServiceSettings.from_env(
        "dossier",
        {"TOKEN_TRUSTED_ISSUERS": "https://nation/api/identity=https://nation/jwks.json"},
    )
    assert settings.trusted_issuers == (
        ("https://nation/api/identity", "https://nation/jwks.json"),
    )
    verifier = verifier_for(settings)
    assert set(verifier.issuers) == {settings.token_issuer, "https://nation/api/identity"}
