"""What the dossier routes share: their context, the caller, and request parts read
through a schema or the upload size check. Flask-facing; no rules of the domain."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError

from services.core.auth import TokenVerifier, current_claims, require_auth
from services.core.problems import Problem, TooManyRequests, ValidationProblem
from services.core.service import current_context
from services.dossier.context import DossierContext
from services.dossier.domain import Actor, Role
from services.dossier.uploads import Upload, read_upload, read_uploads

MULTIPART = "multipart/form-data"


def context() -> DossierContext:
    return current_context(DossierContext)


def _verifier() -> TokenVerifier:
    return context().verifier


authenticated = require_auth(_verifier)
citizens = require_auth(_verifier, Role.CITIZEN)
officers = require_auth(_verifier, Role.OFFICER, Role.ADMIN)


def actor() -> Actor:
    claims = current_claims()
    for role in (Role.ADMIN, Role.OFFICER, Role.CITIZEN):
        if claims.has_role(role):
            return Actor(claims.sub, role, claims.agency)
    raise Problem("forbidden", status=403)


def client_address() -> str:
    """The caller's address: the peer, or the entry the trusted proxies appended."""
    hops = context().config.trusted_proxies
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if hops and forwarded:
        return forwarded[-min(hops, len(forwarded))]
    return request.remote_addr or "-"


def limit_public_calls() -> None:
    wait = context().public_limit.hit(client_address())
    if wait:
        raise TooManyRequests(retry_after=wait)


def load(schema: Schema, raw: Any) -> dict[str, Any]:
    """A body (or a multipart form's fields) through its schema, or 422."""
    try:
        return schema.load(raw, unknown=EXCLUDE)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationProblem(errors=exc.messages_dict) from exc


def upload(field: str) -> Upload:
    """The one file of `field`, within the size limit; 422 `file_missing` without it."""
    found = request.files.get(field)
    if found is None:
        raise ValidationProblem("file_missing", errors={field: ["Chưa chọn tệp."]})
    return read_upload(field, found, context().config.max_file_bytes)


def uploads(field: str | None = None) -> list[Upload]:
    """The request's files (all of them, or those of `field`), each within the size limit."""
    files = request.files.items(multi=True)
    chosen = [(name, f) for name, f in files if field is None or name == field]
    return read_uploads(chosen, context().config.max_file_bytes)
