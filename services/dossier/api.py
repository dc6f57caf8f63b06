"""HTTP routes of the dossier service: parse with a schema, call the domain, serialise."""
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, request, send_file
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from services.dossier import anonymous, filing, queries, schemas, workflow
from services.dossier.domain import Actor
from services.dossier.models import Attachment, Dossier
from services.dossier.routing import (
    MULTIPART,
    actor,
    authenticated,
    citizens,
    context,
    limit_public_calls,
    load,
    officers,
    upload,
    uploads,
)

blp = Blueprint("dossier", __name__, url_prefix="/api/dossiers", description="Dossiers")


@blp.route("", methods=["POST"])
@blp.arguments(schemas.CreateDossierSchema)
@blp.response(201, schemas.DossierSchema)
@citizens
def create_dossier(body: dict[str, Any]) -> dict[str, Any]:
    """Start a draft for a procedure at an executing agency."""
    ctx, now = context(), context().clock()
    with ctx.transaction() as session:
        dossier = filing.new_draft(
            session, actor(), body["procedure_code"], body["agency_code"], now
        )
        session.flush()
        return queries.detail(session, dossier, now)


@blp.route("", methods=["GET"])
@blp.arguments(schemas.ListArgsSchema, location="query")
@blp.response(200, schemas.FolderPageSchema)
@authenticated
def list_dossiers(args: dict[str, Any]) -> dict[str, Any]:
    """A citizen's folders, or the officer's queue (ordered by due date), with counts."""
    ctx = context()
    per_page = min(args["per_page"], ctx.config.max_per_page)
    with ctx.read() as session:
        return queries.folder_page(
            session, actor(), args.get("status"), args["page"], per_page, ctx.clock()
        )


@blp.route("/lookup", methods=["GET"])
@blp.arguments(schemas.LookupArgsSchema, location="query")
@blp.response(200, schemas.LookupSchema)
def lookup(args: dict[str, Any]) -> Dossier:
    """Public lookup by dossier code: status, procedure, agency, dates; nothing personal."""
    limit_public_calls()
    with context().read() as session:
        return queries.lookup(session, args["code"].strip())


@blp.route("/stats", methods=["GET"])
@blp.arguments(schemas.StatsArgsSchema, location="query")
@blp.doc(
    responses={
        "200": {
            "description": "Statistics of the agency or province",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
def stats(args: dict[str, Any]) -> dict[str, Any]:
    """Counts by status, on-time rate, average working days, online share, average rating."""
    limit_public_calls()
    with context().read() as session:
        return queries.statistics(
            session,
            agency=args.get("agency"),
            province=args.get("province"),
            start=queries.day_start(args.get("from_")),
            end=queries.day_end(args.get("to")),
        )


@blp.route("/anonymous", methods=["POST"])
@blp.doc(requestBody=schemas.ANONYMOUS_BODY)
@blp.response(201, schemas.SubmittedSchema)
def file_anonymous() -> Dossier:
    """File without an account: JSON, or multipart with `data` (JSON) and one file per document."""
    limit_public_calls()
    if request.mimetype == MULTIPART:
        raw = anonymous.decode(request.form.get("data"))
    else:
        raw = request.get_json(silent=True)
    submission = anonymous.parse(raw)
    files = uploads()
    ctx = context()
    with ctx.transaction() as session:
        return anonymous.file_anonymously(session, ctx, submission, files, ctx.clock())


@blp.route("/<dossier_id>", methods=["GET"])
@blp.response(200, schemas.DossierSchema)
@authenticated
def get_dossier(dossier_id: str) -> dict[str, Any]:
    """The full dossier with its processing timeline."""
    ctx = context()
    with ctx.read() as session:
        return queries.detail(session, filing.load(session, dossier_id, actor()), ctx.clock())


@blp.route("/<dossier_id>", methods=["PATCH"])
@blp.arguments(schemas.FillDossierSchema)
@blp.response(200, schemas.DossierSchema)
@citizens
def fill_dossier(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Applicant, owner, declaration and delivery of a draft or a dossier being supplemented."""
    return _change(lambda s, a, now: filing.edit(s, dossier_id, a, body, now))


@blp.route("/<dossier_id>/attachments", methods=["POST"])
@blp.doc(requestBody=schemas.ATTACHMENT_BODY)
@blp.response(201, schemas.AttachmentSchema)
@authenticated
def add_attachment(dossier_id: str) -> Attachment:
    """Multipart `file` and `document_code`; type checked by content, size limited."""
    ctx = context()
    file = upload("file")
    document_code = load(schemas.AttachmentFormSchema(), request.form)["document_code"].strip()
    now = ctx.clock()
    with ctx.transaction() as session:
        return filing.attach_document(
            session, ctx, dossier_id, actor(), document_code, file.name, file.data, now
        )


@blp.route("/<dossier_id>/attachments/<attachment_id>", methods=["GET"])
@authenticated
def download_attachment(dossier_id: str, attachment_id: str) -> Response:
    """The file, as an attachment with a safe file name."""
    ctx = context()
    with ctx.read() as session:
        attachment, data = filing.attachment_file(session, ctx, dossier_id, attachment_id, actor())
    response = send_file(
        io.BytesIO(data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.name,
        etag=attachment.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _change(call: Callable[[Session, Actor, datetime], Dossier]) -> dict[str, Any]:
    """Run one change of a dossier in a transaction and answer the dossier as it is now."""
    ctx = context()
    now = ctx.clock()
    with ctx.transaction() as session:
        dossier = call(session, actor(), now)
        session.flush()
        return queries.detail(session, dossier, now)


@blp.route("/<dossier_id>/submit", methods=["POST"])
@blp.response(200, schemas.SubmittedSchema)
@citizens
def submit(dossier_id: str) -> Dossier:
    """File the draft: a code and a due date, or 422 `incomplete` listing what is missing."""
    ctx = context()
    with ctx.transaction() as session:
        return workflow.submit(session, ctx, dossier_id, actor(), ctx.clock())


@blp.route("/<dossier_id>/resubmit", methods=["POST"])
@blp.response(200, schemas.DossierSchema)
@citizens
def resubmit(dossier_id: str) -> dict[str, Any]:
    """Send back a supplemented dossier; the clock resumes."""
    return _change(lambda s, a, now: workflow.resubmit(s, context(), dossier_id, a, now))


@blp.route("/<dossier_id>/receive", methods=["POST"])
@blp.response(200, schemas.DossierSchema)
@officers
def receive(dossier_id: str) -> dict[str, Any]:
    """The officer takes the dossier in: submitted → processing."""
    return _change(lambda s, a, now: workflow.receive(s, dossier_id, a, now))


@blp.route("/<dossier_id>/request-supplement", methods=["POST"])
@blp.arguments(schemas.ReasonSchema)
@blp.response(200, schemas.DossierSchema)
@officers
def request_supplement(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Ask the citizen for more; the clock stops."""
    reason = body["reason"].strip()
    return _change(
        lambda s, a, now: workflow.request_supplement(s, context(), dossier_id, a, reason, now)
    )


@blp.route("/<dossier_id>/return-result", methods=["POST"])
@blp.doc(requestBody=schemas.RETURN_RESULT_BODY)
@blp.response(200, schemas.DossierSchema)
@officers
def return_result(dossier_id: str) -> dict[str, Any]:
    """JSON `{note}`, or multipart `note` and result `file`s."""
    if request.mimetype == MULTIPART:
        note = load(schemas.ReturnResultSchema(), request.form.to_dict()).get("note")
        files = [(upload.name, upload.data) for upload in uploads("file")]
    else:
        note = load(schemas.ReturnResultSchema(), request.get_json(silent=True) or {}).get("note")
        files = []
    return _change(
        lambda s, a, now: workflow.return_result(s, context(), dossier_id, a, note, files, now)
    )


@blp.route("/<dossier_id>/reject", methods=["POST"])
@blp.arguments(schemas.ReasonSchema)
@blp.response(200, schemas.DossierSchema)
@officers
def reject(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Refuse the dossier, with the reason."""
    reason = body["reason"].strip()
    return _change(lambda s, a, now: workflow.reject(s, context(), dossier_id, a, reason, now))


@blp.route("/<dossier_id>/rating", methods=["POST"])
@blp.arguments(schemas.RatingSchema)
@blp.response(200, schemas.DossierSchema)
@citizens
def rate(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """The owner's satisfaction (1-5) once the result is returned."""
    return _change(
        lambda s, a, now: workflow.rate(s, dossier_id, a, body["score"], body.get("comment"), now)
    )
