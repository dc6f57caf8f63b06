"""A citizen's side before submission: drafts, the declaration, files, completeness.

Plain functions over a SQLAlchemy session; no Flask. Callers own the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.problems import NotFound, Problem, ValidationProblem
from services.dossier.catalog import find_procedure, procedure_exists
from services.dossier.context import DossierContext
from services.dossier.domain import Actor, AttachmentKind, DeliveryMethod, Role, Status
from services.dossier.filetypes import EXTENSIONS, sniff
from services.dossier.models import Attachment, Dossier

EDITABLE = (Status.DRAFT, Status.SUPPLEMENT_REQUESTED)
MAX_NAME = 200


def can_see(dossier: Dossier, actor: Actor) -> bool:
    """Owners see their dossiers; officers their agency's filed ones; admins all."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.OFFICER:
        return dossier.agency_code == actor.agency and dossier.status != Status.DRAFT
    if actor.role == Role.CITIZEN:
        return actor.id is not None and dossier.account_id == actor.id
    return False


def is_owner(dossier: Dossier, actor: Actor) -> bool:
    return actor.role == Role.CITIZEN and actor.id is not None and dossier.account_id == actor.id


def load(session: Session, dossier_id: str, actor: Actor, *, lock: bool = False) -> Dossier:
    """The dossier if `actor` may see it; 404 otherwise, whether or not it exists."""
    query = select(Dossier).where(Dossier.id == dossier_id)
    if lock:
        query = query.with_for_update()
    dossier = session.scalars(query).one_or_none()
    if dossier is None or not can_see(dossier, actor):
        raise NotFound()
    return dossier


def snapshot(procedure: dict[str, Any]) -> dict[str, Any]:
    """What a filed dossier keeps of its procedure, so catalogue changes don't alter it."""
    keys = (
        "code",
        "name",
        "version",
        "province",
        "service_level",
        "processing_days",
        "fees",
        "documents",
        "form",
        "result_delivery",
        "legal_basis",
    )
    return {key: procedure.get(key) for key in keys}


def new_draft(
    session: Session, actor: Actor, procedure_code: str, agency_code: str, now: datetime
) -> Dossier:
    """Start a draft for a procedure at an agency that executes it."""
    found = find_procedure(session, procedure_code, agency_code)
    if found is None:
        if procedure_exists(session, procedure_code):
            raise ValidationProblem(
                "agency_not_offering", errors={"agency_code": ["Cơ quan không thực hiện thủ tục."]}
            )
        raise ValidationProblem(
            "unknown_procedure", errors={"procedure_code": ["Không tìm thấy thủ tục."]}
        )
    row, agency = found
    procedure = snapshot(row.data)
    dossier = Dossier(
        id=str(uuid.uuid4()),
        status=Status.DRAFT,
        account_id=actor.id if actor.role == Role.CITIZEN else None,
        anonymous=actor.role == Role.ANONYMOUS,
        channel="online",
        procedure_code=row.code,
        procedure_name=str(row.data.get("name") or row.code),
        procedure_version=row.version,
        procedure=procedure,
        agency_code=agency_code,
        agency_name=str(agency.get("name") or agency_code),
        province=str(agency.get("province") or row.province or ""),
        owner_same_as_applicant=False,
        attachments_bytes=0,
        attachments_count=0,
        paused_days=0,
        apologies=0,
        created_at=now,
        updated_at=now,
    )
    session.add(dossier)
    return dossier


def form_errors(schema: dict[str, Any] | None, form: Any) -> dict[str, list[str]]:
    """Field-level errors of a declaration against the procedure's JSON Schema."""
    if not schema:
        return {}
    try:
        validator = Draft202012Validator(schema)
        found = list(validator.iter_errors(form))
    except SchemaError:
        return {}
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        messages = errors.setdefault(key, [])
        if message not in messages:
            messages.append(message)

    for error in found:
        path = ".".join(str(p) for p in error.absolute_path)
        # jsonschema reports one "required" error per missing property, each carrying
        # the whole list: every missing name is added once.
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    add(".".join(filter(None, ["form", path, str(name)])), "Thông tin bắt buộc.")
            continue
        add(".".join(filter(None, ["form", path])), f"Giá trị không hợp lệ ({error.message}).")
    return errors


def fill(dossier: Dossier, changes: dict[str, Any], now: datetime) -> None:
    """Apply the citizen's edits (applicant, owner, declaration, delivery) to a dossier."""
    if dossier.status not in EDITABLE:
        raise Problem("not_editable", status=409)
    if "form" in changes:
        errors = form_errors(dossier.procedure.get("form"), changes["form"])
        if errors:
            raise ValidationProblem(errors=errors)
        dossier.form = changes["form"]
    if "delivery" in changes:
        delivery = changes["delivery"]
        offered = dossier.procedure.get("result_delivery") or [m.value for m in DeliveryMethod]
        if delivery["method"] not in offered:
            raise ValidationProblem(
                "delivery_not_offered",
                errors={"delivery.method": ["Thủ tục không hỗ trợ hình thức nhận kết quả này."]},
            )
        dossier.delivery = delivery
    if "applicant" in changes:
        dossier.applicant = changes["applicant"]
    if "owner" in changes:
        dossier.owner = changes["owner"]
        dossier.owner_same_as_applicant = False
    if "owner_same_as_applicant" in changes:
        dossier.owner_same_as_applicant = bool(changes["owner_same_as_applicant"])
    if dossier.owner_same_as_applicant:
        # "Lấy thông tin từ người nộp": the owner is a copy of the applicant.
        applicant = dossier.applicant or {}
        dossier.owner = {k: v for k, v in applicant.items() if k not in ("phone", "email")} or None
    dossier.updated_at = now


def document_codes(dossier: Dossier) -> dict[str, dict[str, Any]]:
    return {
        str(doc["code"]): doc
        for doc in dossier.procedure.get("documents") or []
        if isinstance(doc, dict) and "code" in doc
    }


def safe_file_name(raw: str | None, content_type: str) -> str:
    """A display name with no path or control characters, and the extension of its type."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>:|?*;')
    stem = name.rsplit(".", 1)[0].strip(" .") if "." in name else name.strip(" .")
    stem = stem[:MAX_NAME] or "tep-dinh-kem"
    return stem + EXTENSIONS[content_type]


def store_attachment(
    session: Session,
    ctx: DossierContext,
    dossier: Dossier,
    *,
    kind: AttachmentKind,
    document_code: str,
    file_name: str | None,
    data: bytes,
    uploaded_by: str | None,
    now: datetime,
) -> Attachment:
    """Check size and type, store the bytes by digest and record the attachment.

    The dossier row must be locked by the caller; nothing is stored on a refusal.
    """
    limits = ctx.config
    if kind == AttachmentKind.DOCUMENT and document_code not in document_codes(dossier):
        raise ValidationProblem(
            "unknown_document", errors={"document_code": ["Thành phần hồ sơ không hợp lệ."]}
        )
    if not data:
        raise ValidationProblem("file_missing", errors={"file": ["Tệp rỗng."]})
    if len(data) > limits.max_file_bytes:
        raise Problem("file_too_large", status=413, limit_bytes=limits.max_file_bytes)
    if dossier.attachments_bytes + len(data) > limits.max_dossier_bytes:
        raise Problem("dossier_too_large", status=413, limit_bytes=limits.max_dossier_bytes)
    if dossier.attachments_count + 1 > limits.max_files_per_dossier:
        raise Problem("too_many_files", status=413, limit=limits.max_files_per_dossier)
    content_type = sniff(data)
    if content_type is None:
        raise Problem("unsupported_file_type", status=415, accepted=list(EXTENSIONS))
    digest = ctx.blobs.put(data)
    attachment = Attachment(
        id=str(uuid.uuid4()),
        dossier_id=dossier.id,
        kind=kind,
        document_code=document_code,
        name=safe_file_name(file_name, content_type),
        size=len(data),
        sha256=digest,
        content_type=content_type,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(attachment)
    dossier.attachments_bytes += len(data)
    dossier.attachments_count += 1
    dossier.updated_at = now
    return attachment


def edit(
    session: Session, dossier_id: str, actor: Actor, changes: dict[str, Any], now: datetime
) -> Dossier:
    """The owner's edits to a draft or a dossier being supplemented; 404 for anyone else."""
    dossier = load(session, dossier_id, actor, lock=True)
    if not is_owner(dossier, actor):
        raise NotFound()
    fill(dossier, changes, now)
    session.flush()
    return dossier


def attach_document(
    session: Session,
    ctx: DossierContext,
    dossier_id: str,
    actor: Actor,
    document_code: str,
    file_name: str | None,
    data: bytes,
    now: datetime,
) -> Attachment:
    """The owner adds a file for one of the procedure's documents to an editable dossier."""
    dossier = load(session, dossier_id, actor, lock=True)
    if not is_owner(dossier, actor):
        raise NotFound()
    if dossier.status not in EDITABLE:
        raise Problem("not_editable", status=409)
    return store_attachment(
        session,
        ctx,
        dossier,
        kind=AttachmentKind.DOCUMENT,
        document_code=document_code,
        file_name=file_name,
        data=data,
        uploaded_by=actor.id,
        now=now,
    )


def attachment_file(
    session: Session, ctx: DossierContext, dossier_id: str, attachment_id: str, actor: Actor
) -> tuple[Attachment, bytes]:
    """An attachment of a dossier the actor may see, with its bytes; 404 otherwise."""
    load(session, dossier_id, actor)
    found = session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.dossier_id == dossier_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound()
    try:
        return found, ctx.blobs.get(found.sha256)
    except FileNotFoundError as exc:
        raise NotFound() from exc


def missing_parts(session: Session, dossier: Dossier) -> list[dict[str, str]]:
    """Everything a dossier still lacks before it can be submitted, in a stable order."""
    missing: list[dict[str, str]] = []
    applicant = dossier.applicant or {}
    if not applicant.get("full_name"):
        missing.append({"kind": "field", "field": "applicant.full_name"})
    if dossier.anonymous:
        if not applicant.get("email"):
            missing.append({"kind": "field", "field": "applicant.email"})
    elif not applicant.get("phone"):
        missing.append({"kind": "field", "field": "applicant.phone"})
    if not dossier.owner_same_as_applicant and not (dossier.owner or {}).get("full_name"):
        missing.append({"kind": "field", "field": "owner"})
    schema = dossier.procedure.get("form")
    if schema:
        for field in form_errors(schema, dossier.form if dossier.form is not None else {}):
            missing.append({"kind": "field", "field": field})
    delivery = dossier.delivery or {}
    if not delivery.get("method"):
        missing.append({"kind": "field", "field": "delivery.method"})
    elif delivery["method"] == DeliveryMethod.POST and not delivery.get("address"):
        missing.append({"kind": "field", "field": "delivery.address"})
    attached = set(
        session.scalars(
            select(Attachment.document_code)
            .where(Attachment.dossier_id == dossier.id, Attachment.kind == AttachmentKind.DOCUMENT)
            .distinct()
        ).all()
    )
    for code, doc in document_codes(dossier).items():
        if doc.get("required") and code not in attached:
            missing.append({"kind": "document", "code": code, "name": str(doc.get("name", code))})
    return missing
