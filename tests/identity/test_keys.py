"""Signing keys: encrypted at rest, published before use, kept while their tokens live."""

from __future__ import annotations

import jwt
from flask.testing import FlaskClient
from sqlalchemy import select

from services.identity.context import IdentityContext
from services.identity.models import SigningKey
from tests.identity.conftest import Clock, IdentityDb
from tests.identity.flows import AN, API, login, register


def kids(client: FlaskClient) -> list[str]:
    return [k["kid"] for k in client.get(f"{API}/.well-known/jwks.json").get_json()["keys"]]


def token_kid(pair: dict) -> str:
    return str(jwt.get_unverified_header(pair["access_token"])["kid"])


def test_rotation_publishes_first_signs_later_and_retires_old_keys(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb, clock: Clock
) -> None:
    config = identity.config
    identity.keys.config = config.__class__(**{**config.__dict__, "signing_key_cache_seconds": 0})
    register(client, identity_db, AN)
    first = login(client, identity_db, AN.citizen_id, AN.e164)
    [old_kid] = kids(client)
    assert token_kid(first) == old_kid
    new = identity.keys.rotate()
    assert kids(client) == [old_kid, new.kid]  # published at once...
    clock.advance(61)
    assert token_kid(login(client, identity_db, AN.citizen_id, AN.e164)) == old_kid  # ...not used
    clock.advance(300)
    after = login(client, identity_db, AN.citizen_id, AN.e164)
    assert token_kid(after) == new.kid
    assert token_kid(after) in kids(client)
    # The old key stays while tokens it signed may still be valid, then goes.
    assert identity.keys.prune() == []
    assert kids(client) == [old_kid, new.kid]
    clock.advance(config.access_token_ttl_seconds + 61)
    assert identity.keys.prune() == [old_kid]
    assert kids(client) == [new.kid]


def test_private_keys_are_encrypted_at_rest(
    identity: IdentityContext, client: FlaskClient, identity_db: IdentityDb
) -> None:
    identity.keys.rotate()
    with identity_db.sessions() as session:
        [row] = session.scalars(select(SigningKey)).all()
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert row.private_key_encrypted.startswith("gAAAA")  # a Fernet token
    assert '"d"' not in row.public_jwk  # the JWK holds the public half only
