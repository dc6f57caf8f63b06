"""HTTP routes of the dossier service: thin, schemas in and out."""
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from flask import Response, current_app, request, send_file
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.auth import TokenVerifier, current_claims, require_auth
from services.core.bus.envelope import utcnow
from services.core.problems import NotFound, Problem, TooManyRequests, ValidationProblem
from services.dossier import filing, queries, workflow
from services.dossier.calendar import VIETNAM_TZ
from services.dossier.domain import Actor, AttachmentKind, Role
from services.dossier.filing import DossierContext
from services.dossier.models import Attachment, Dossier
from services.dossier.ratelimit import WindowLimit
from services.dossier.schemas import (
    AnonymousDossierSchema,
    AttachmentFormSchema,
    AttachmentSchema,
    CreateDossierSchema,
    DossierSchema,
    FillDossierSchema,
    FolderPageSchema,
    ListArgsSchema,
    LookupArgsSchema,
    LookupSchema,
    RatingSchema,
    ReasonSchema,
    ReturnResultSchema,
    StatsArgsSchema,
    SubmittedSchema,
)

blp = Blueprint("dossier", __name__, url_prefix="/api/dossiers", description="Dossiers")


@dataclass
class Runtime:
    """What the routes use, built once by create_app."""

    sessions: sessionmaker[Session]
    ctx: DossierContext
    verifier: TokenVerifier
    public_limit: WindowLimit


def runtime() -> Runtime:
    return current_app.extensions["dossier"]  # type: ignore[no-any-return]


def _verifier() -> TokenVerifier:
    return runtime().verifier


authenticated = require_auth(_verifier)
citizens = require_auth(_verifier, Role.CITIZEN)
officers = require_auth(_verifier, Role.OFFICER, Role.ADMIN)


def actor() -> Actor:
    claims = current_claims()
    for role in (Role.ADMIN, Role.OFFICER, Role.CITIZEN):
        if claims.has_role(role):
            return Actor(claims.sub, role, claims.agency)
    raise Problem("forbidden", status=403)


@contextmanager
def transaction() -> Iterator[Session]:
    with runtime().sessions() as session, session.begin():
        yield session


def client_address() -> str:
    """The caller's address: the peer, or the entry the trusted proxies appended."""
    hops = runtime().ctx.settings.trusted_proxies
    forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if hops and forwarded:
        return forwarded[-min(hops, len(forwarded))]
    return request.remote_addr or "-"


def limit_public_calls() -> None:
    wait = runtime().public_limit.hit(client_address())
    if wait:
        raise TooManyRequests(retry_after=wait)


def detail(session: Session, dossier: Dossier, now: datetime) -> dict[str, Any]:
    attachments = session.scalars(
        select(Attachment)
        .where(Attachment.dossier_id == dossier.id)
        .order_by(Attachment.created_at)
    ).all()
    rating = (
        {"score": dossier.rating_score, "comment": dossier.rating_comment, "at": dossier.rated_at}
        if dossier.rating_score is not None
        else None
    )
    return {
        **{c.key: getattr(dossier, c.key) for c in Dossier.__table__.columns},
        "overdue": queries.is_overdue(dossier, now),
        "rating": rating,
        "attachments": attachments,
        "history": workflow.history(session, dossier.id),
    }


def summary(dossier: Dossier, now: datetime) -> dict[str, Any]:
    return {
        **{c.key: getattr(dossier, c.key) for c in Dossier.__table__.columns},
        "overdue": queries.is_overdue(dossier, now),
    }


def load(schema: Schema, raw: Any) -> dict[str, Any]:
    """A body (or a multipart form's fields) through its schema, or 422."""
    try:
        return schema.load(raw, unknown=EXCLUDE)  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationProblem(errors=exc.messages_dict) from exc


def read_upload(field: str = "file") -> tuple[str | None, bytes]:
    upload = request.files.get(field)
    if upload is None:
        raise ValidationProblem("file_missing", errors={field: ["Chưa chọn tệp."]})
    limit = runtime().ctx.settings.max_file_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise Problem("file_too_large", status=413, limit_bytes=limit)
    return upload.filename, data


@blp.route("", methods=["POST"])
@blp.arguments(CreateDossierSchema)
@blp.response(201, DossierSchema)
@citizens
def create_dossier(body: dict[str, Any]) -> dict[str, Any]:
    """Start a draft for a procedure at an executing agency."""
    now = utcnow()
    with transaction() as session:
        dossier = filing.new_draft(
            session, actor(), body["procedure_code"], body["agency_code"], now
        )
        session.flush()
        return detail(session, dossier, now)


@blp.route("", methods=["GET"])
@blp.arguments(ListArgsSchema, location="query")
@blp.response(200, FolderPageSchema)
@authenticated
def list_dossiers(args: dict[str, Any]) -> dict[str, Any]:
    """A citizen's folders, or the officer's queue (ordered by due date), with counts."""
    now = utcnow()
    per_page = min(args["per_page"], runtime().ctx.settings.max_per_page)
    with runtime().sessions() as session:
        page = queries.folders(session, actor(), args.get("status"), args["page"], per_page)
    return {
        "items": [summary(d, now) for d in page.items],
        "total": page.total,
        "page": args["page"],
        "per_page": per_page,
        "counts": page.counts,
    }


@blp.route("/lookup", methods=["GET"])
@blp.arguments(LookupArgsSchema, location="query")
@blp.response(200, LookupSchema)
def lookup(args: dict[str, Any]) -> Dossier:
    """Public lookup by dossier code: status, procedure, agency, dates; nothing personal."""
    limit_public_calls()
    with runtime().sessions() as session:
        return queries.lookup(session, args["code"].strip())


@blp.route("/stats", methods=["GET"])
@blp.arguments(StatsArgsSchema, location="query")
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

    def moment(day: Any, end: bool = False) -> datetime | None:
        if day is None:
            return None
        local = datetime.combine(day, time.max if end else time.min, VIETNAM_TZ)
        return local.astimezone(UTC)

    limit_public_calls()
    with runtime().sessions() as session:
        return queries.statistics(
            session,
            agency=args.get("agency"),
            province=args.get("province"),
            start=moment(args.get("from_")),
            end=moment(args.get("to"), end=True),
        )


@blp.route("/anonymous", methods=["POST"])
@blp.doc(
    requestBody={
        "content": {
            "application/json": {"schema": AnonymousDossierSchema},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"data": {"type": "string", "description": "JSON body"}},
                    "additionalProperties": {"type": "string", "format": "binary"},
                }
            },
        }
    }
)
@blp.response(201, SubmittedSchema)
def file_anonymous() -> Dossier:
    """File without an account: JSON, or multipart with `data` (JSON) and one file per document."""
    limit_public_calls()
    if request.mimetype == "multipart/form-data":
        try:
            raw = json.loads(request.form.get("data") or "{}")
        except ValueError as exc:
            raise ValidationProblem(errors={"data": ["JSON không hợp lệ."]}) from exc
    else:
        raw = request.get_json(silent=True) or {}
    try:
        body = AnonymousDossierSchema().load(raw)
    except ValidationError as exc:
        raise ValidationProblem(errors=exc.messages_dict) from exc
    files = []
    for code, upload in request.files.items(multi=True):
        limit = runtime().ctx.settings.max_file_bytes
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise Problem("file_too_large", status=413, limit_bytes=limit)
        files.append((code, upload.filename, data))
    now = utcnow()
    rt = runtime()
    anonymous = Actor(None, Role.ANONYMOUS)
    with transaction() as session:
        dossier = filing.new_draft(
            session, anonymous, body["procedure_code"], body["agency_code"], now
        )
        applicant = dict(body.get("applicant") or {})
        applicant["email"] = body["email"]
        applicant.pop("phone", None)
        changes = {
            k: body[k]
            for k in ("owner", "owner_same_as_applicant", "form", "delivery")
            if k in body
        }
        filing.fill(dossier, {**changes, "applicant": applicant}, now)
        session.flush()
        for code, name, data in files:
            filing.store_attachment(
                session,
                rt.ctx,
                dossier,
                kind=AttachmentKind.DOCUMENT,
                document_code=code,
                file_name=name,
                data=data,
                uploaded_by=None,
                now=now,
            )
        session.flush()
        return workflow.file_dossier(session, rt.ctx, dossier, anonymous, now)


@blp.route("/<dossier_id>", methods=["GET"])
@blp.response(200, DossierSchema)
@authenticated
def get_dossier(dossier_id: str) -> dict[str, Any]:
    """The full dossier with its processing timeline."""
    with runtime().sessions() as session:
        return detail(session, filing.load(session, dossier_id, actor()), utcnow())


@blp.route("/<dossier_id>", methods=["PATCH"])
@blp.arguments(FillDossierSchema)
@blp.response(200, DossierSchema)
@citizens
def fill_dossier(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Applicant, owner, declaration and delivery of a draft or a dossier being supplemented."""
    now = utcnow()
    with transaction() as session:
        who = actor()
        dossier = filing.load(session, dossier_id, who, lock=True)
        if not filing.is_owner(dossier, who):
            raise NotFound()
        filing.fill(dossier, body, now)
        session.flush()
        return detail(session, dossier, now)


@blp.route("/<dossier_id>/attachments", methods=["POST"])
@blp.doc(
    requestBody={
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "document_code"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "document_code": {"type": "string"},
                    },
                }
            }
        }
    }
)
@blp.response(201, AttachmentSchema)
@authenticated
def add_attachment(dossier_id: str) -> Attachment:
    """Multipart `file` and `document_code`; type checked by content, size limited."""
    name, data = read_upload()
    document_code = load(AttachmentFormSchema(), request.form)["document_code"].strip()
    now = utcnow()
    with transaction() as session:
        who = actor()
        dossier = filing.load(session, dossier_id, who, lock=True)
        if not filing.is_owner(dossier, who):
            raise NotFound()
        if dossier.status not in filing.EDITABLE:
            raise Problem("not_editable", status=409)
        return filing.store_attachment(
            session,
            runtime().ctx,
            dossier,
            kind=AttachmentKind.DOCUMENT,
            document_code=document_code,
            file_name=name,
            data=data,
            uploaded_by=who.id,
            now=now,
        )


@blp.route("/<dossier_id>/attachments/<attachment_id>", methods=["GET"])
@authenticated
def download_attachment(dossier_id: str, attachment_id: str) -> Response:
    """The file, as an attachment with a safe file name."""
    with runtime().sessions() as session:
        filing.load(session, dossier_id, actor())
        attachment = session.scalars(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.dossier_id == dossier_id
            )
        ).one_or_none()
    if attachment is None:
        raise NotFound()
    try:
        data = runtime().ctx.blobs.get(attachment.sha256)
    except FileNotFoundError as exc:
        raise NotFound() from exc

    response = send_file(
        io.BytesIO(data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.name,
        etag=attachment.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _transition(call: Callable[[Session, Actor, datetime], Dossier]) -> dict[str, Any]:
    now = utcnow()
    with transaction() as session:
        dossier = call(session, actor(), now)
        session.flush()
        return detail(session, dossier, now)


@blp.route("/<dossier_id>/submit", methods=["POST"])
@blp.response(200, SubmittedSchema)
@citizens
def submit(dossier_id: str) -> Dossier:
    """File the draft: a code and a due date, or 422 `incomplete` listing what is missing."""
    now = utcnow()
    with transaction() as session:
        return workflow.submit(session, runtime().ctx, dossier_id, actor(), now)


@blp.route("/<dossier_id>/resubmit", methods=["POST"])
@blp.response(200, DossierSchema)
@citizens
def resubmit(dossier_id: str) -> dict[str, Any]:
    """Send back a supplemented dossier; the clock resumes."""
    return _transition(lambda s, a, now: workflow.resubmit(s, runtime().ctx, dossier_id, a, now))


@blp.route("/<dossier_id>/receive", methods=["POST"])
@blp.response(200, DossierSchema)
@officers
def receive(dossier_id: str) -> dict[str, Any]:
    """The officer takes the dossier in: submitted → processing."""
    return _transition(lambda s, a, now: workflow.receive(s, dossier_id, a, now))


@blp.route("/<dossier_id>/request-supplement", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, DossierSchema)
@officers
def request_supplement(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Ask the citizen for more; the clock stops."""
    reason = body["reason"].strip()
    return _transition(
        lambda s, a, now: workflow.request_supplement(s, runtime().ctx, dossier_id, a, reason, now)
    )


@blp.route("/<dossier_id>/return-result", methods=["POST"])
@blp.doc(
    requestBody={
        "content": {
            "application/json": {"schema": ReturnResultSchema},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "note": {"type": "string", "maxLength": 2000},
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                }
            },
        }
    }
)
@blp.response(200, DossierSchema)
@officers
def return_result(dossier_id: str) -> dict[str, Any]:
    """JSON `{note}`, or multipart `note` and result `file`s."""
    files: list[tuple[str | None, bytes]] = []
    if request.mimetype == "multipart/form-data":
        note = load(ReturnResultSchema(), request.form.to_dict()).get("note")
        limit = runtime().ctx.settings.max_file_bytes
        for upload in request.files.getlist("file"):
            data = upload.stream.read(limit + 1)
            if len(data) > limit:
                raise Problem("file_too_large", status=413, limit_bytes=limit)
            files.append((upload.filename, data))
    else:
        note = load(ReturnResultSchema(), request.get_json(silent=True) or {}).get("note")
    return _transition(
        lambda s, a, now: workflow.return_result(s, runtime().ctx, dossier_id, a, note, files, now)
    )


@blp.route("/<dossier_id>/reject", methods=["POST"])
@blp.arguments(ReasonSchema)
@blp.response(200, DossierSchema)
@officers
def reject(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Refuse the dossier, with the reason."""
    reason = body["reason"].strip()
    return _transition(
        lambda s, a, now: workflow.reject(s, runtime().ctx, dossier_id, a, reason, now)
    )


@blp.route("/<dossier_id>/rating", methods=["POST"])
@blp.arguments(RatingSchema)
@blp.response(200, DossierSchema)
@citizens
def rate(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """The owner's satisfaction (1-5) once the result is returned."""
    return _transition(
        lambda s, a, now: workflow.rate(s, dossier_id, a, body["score"], body.get("comment"), now)
    )
