"""Filing without an account: the submission read and checked, a draft made, its files
stored and the dossier filed, all in the caller's transaction. No Flask."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from services.core.problems import ValidationProblem
from services.dossier import filing, workflow
from services.dossier.context import DossierContext
from services.dossier.domain import Actor, AttachmentKind, Role
from services.dossier.models import Dossier
from services.dossier.schemas import AnonymousDossierSchema
from services.dossier.uploads import Upload

ANONYMOUS = Actor(None, Role.ANONYMOUS)
# What an anonymous submission may set on its draft besides the applicant.
FILLED = ("owner", "owner_same_as_applicant", "form", "delivery")


def decode(text: str | None) -> Any:
    """The JSON of a multipart form's `data` field (an empty field is an empty object)."""
    try:
        return json.loads(text or "{}")
    except ValueError as exc:
        raise ValidationProblem(errors={"data": ["JSON không hợp lệ."]}) from exc


def parse(raw: Any) -> dict[str, Any]:
    """The submission through its schema, or 422 with the fields at fault."""
    try:
        return AnonymousDossierSchema().load(raw if raw is not None else {})  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationProblem(errors=exc.messages_dict) from exc


def file_anonymously(
    session: Session,
    ctx: DossierContext,
    submission: dict[str, Any],
    files: list[Upload],
    now: datetime,
) -> Dossier:
    """Draft, fill, attach each file under its document code, and file the dossier.

    The applicant is reached by e-mail only: a phone given in the form is dropped.
    """
    dossier = filing.new_draft(
        session, ANONYMOUS, submission["procedure_code"], submission["agency_code"], now
    )
    applicant = dict(submission.get("applicant") or {})
    applicant["email"] = submission["email"]
    applicant.pop("phone", None)
    changes = {key: submission[key] for key in FILLED if key in submission}
    filing.fill(dossier, {**changes, "applicant": applicant}, now)
    session.flush()
    for upload in files:
        filing.store_attachment(
            session,
            ctx,
            dossier,
            kind=AttachmentKind.DOCUMENT,
            document_code=upload.field,
            file_name=upload.name,
            data=upload.data,
            uploaded_by=None,
            now=now,
        )
    session.flush()
    return workflow.file_dossier(session, ctx, dossier, ANONYMOUS, now)
