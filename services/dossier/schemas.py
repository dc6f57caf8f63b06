"""Request and response schemas of the dossier API (marshmallow)."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.core.pagination import PageQuerySchema
from services.core.phones import InvalidPhone, normalize_mobile
from services.dossier.domain import DeliveryMethod, Status

TEXT = validate.Length(max=2000)
# The dates a request may name: wide enough for any birth date or statistics period,
# narrow enough that turning one into a moment in Vietnam's time zone cannot overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


class SafeDate(fields.Date):
    """An ISO date between EARLIEST_DATE and LATEST_DATE."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Range(
                min=EARLIEST_DATE,
                max=LATEST_DATE,
                error=f"Ngày phải trong khoảng {EARLIEST_DATE} đến {LATEST_DATE}.",
            ),
            **kwargs,
        )


class MobilePhone(fields.String):
    """A Vietnamese mobile number in any accepted form, kept as E.164."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_mobile(raw)
        except InvalidPhone as exc:
            raise ValidationError("Số điện thoại di động không hợp lệ.") from exc


class PersonSchema(Schema):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    citizen_id = fields.String(validate=validate.Regexp(r"^(\d{9}|\d{12})$"))
    date_of_birth = SafeDate()
    phone = MobilePhone()
    email = fields.Email(validate=validate.Length(max=254))
    address = fields.String(validate=validate.Length(max=500))

    @post_load
    def to_json(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "date_of_birth" in data:
            data["date_of_birth"] = data["date_of_birth"].isoformat()
        return data


class DeliverySchema(Schema):
    method = fields.String(
        required=True, validate=validate.OneOf([m.value for m in DeliveryMethod])
    )
    address = fields.String(validate=validate.Length(min=1, max=500))

    @validates_schema
    def address_for_post(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("method") == DeliveryMethod.POST and not data.get("address"):
            raise ValidationError("Cần địa chỉ nhận kết quả qua bưu điện.", "address")


class CreateDossierSchema(Schema):
    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=32))


class FillDossierSchema(Schema):
    applicant = fields.Nested(PersonSchema)
    owner = fields.Nested(PersonSchema)
    owner_same_as_applicant = fields.Boolean()
    form = fields.Dict()
    delivery = fields.Nested(DeliverySchema)


class AnonymousDossierSchema(FillDossierSchema):
    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    agency_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    email = fields.Email(required=True, validate=validate.Length(max=254))


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def not_blank(self, data: dict[str, Any], **_: Any) -> None:
        if not str(data.get("reason", "")).strip():
            raise ValidationError("Cần nêu lý do.", "reason")


class RatingSchema(Schema):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(validate=TEXT)


class ListArgsSchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf([s.value for s in Status]))


class LookupArgsSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class StatsArgsSchema(Schema):
    agency = fields.String(validate=validate.Length(max=32))
    province = fields.String(validate=validate.Length(max=8))
    from_ = SafeDate(data_key="from")
    to = SafeDate()


class ReturnResultSchema(Schema):
    """The officer's note with a result (JSON, or the `note` field of a multipart form)."""

    note = fields.String(
        allow_none=True,
        validate=validate.Length(max=2000, error="Ghi chú không hợp lệ."),
        error_messages={"invalid": "Ghi chú không hợp lệ."},
    )


class AttachmentFormSchema(Schema):
    """The text fields of a multipart upload beside its `file`."""

    document_code = fields.String(load_default="", validate=validate.Length(max=64))


class AttachmentSchema(Schema):
    id = fields.String()
    kind = fields.String()
    document_code = fields.String()
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    content_type = fields.String()
    created_at = fields.DateTime()


class HistorySchema(Schema):
    at = fields.DateTime()
    from_ = fields.String(data_key="from", attribute="from_status", allow_none=True)
    to = fields.String(attribute="to_status")
    actor_role = fields.String()
    note = fields.String(allow_none=True)


class DossierSummarySchema(Schema):
    id = fields.String()
    code = fields.String(allow_none=True)
    status = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    agency_code = fields.String()
    agency_name = fields.String()
    province = fields.String()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    promised_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()


class DossierSchema(DossierSummarySchema):
    anonymous = fields.Boolean()
    procedure = fields.Dict()
    applicant = fields.Dict(allow_none=True)
    owner = fields.Dict(allow_none=True)
    owner_same_as_applicant = fields.Boolean()
    form = fields.Dict(allow_none=True)
    delivery = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    result_note = fields.String(allow_none=True)
    remaining_days = fields.Integer(allow_none=True)
    rating = fields.Dict(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))
    history = fields.List(fields.Nested(HistorySchema))


class FolderPageSchema(Schema):
    items = fields.List(fields.Nested(DossierSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class SubmittedSchema(Schema):
    id = fields.String()
    code = fields.String()
    status = fields.String()
    submitted_at = fields.DateTime()
    due_at = fields.DateTime()


class LookupSchema(Schema):
    code = fields.String()
    status = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    agency_code = fields.String()
    agency_name = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    promised_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


# OpenAPI request bodies of the routes that take JSON or a multipart form.
MULTIPART = "multipart/form-data"

ANONYMOUS_BODY: dict[str, Any] = {
    "content": {
        "application/json": {"schema": AnonymousDossierSchema},
        MULTIPART: {
            "schema": {
                "type": "object",
                "properties": {"data": {"type": "string", "description": "JSON body"}},
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        },
    },
}


ATTACHMENT_BODY: dict[str, Any] = {
    "content": {
        MULTIPART: {
            "schema": {
                "type": "object",
                "required": ["file", "document_code"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "document_code": {"type": "string", "maxLength": 64},
                },
            }
        }
    },
}


RETURN_RESULT_BODY: dict[str, Any] = {
    "content": {
        "application/json": {"schema": ReturnResultSchema},
        MULTIPART: {
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
