"""Marshmallow schemas of the catalog API: what comes in, what goes out."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.catalog.constants import AGENCY_LEVELS, AUDIENCES, DELIVERY_METHODS, SERVICE_LEVELS

PROCEDURE_CODE = r"^[0-9]{1,2}\.[0-9]{6}$"
REFERENCE_CODE = r"^[A-Za-z0-9._-]{1,32}$"
PROVINCE = r"^([0-9]{2})?$"


class ProcedureQuerySchema(Schema):
    q = fields.String(load_default="")
    agency = fields.String(validate=validate.Regexp(REFERENCE_CODE))
    province = fields.String(validate=validate.Regexp(PROVINCE))
    level = fields.String(validate=validate.OneOf(AGENCY_LEVELS))
    field = fields.String(validate=validate.Regexp(REFERENCE_CODE))
    life_event = fields.String(validate=validate.Regexp(REFERENCE_CODE))
    online = fields.String(validate=validate.OneOf(SERVICE_LEVELS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(validate=validate.Range(min=1))


class ProcedureLookupSchema(Schema):
    province = fields.String(validate=validate.Regexp(PROVINCE))


class AgencyQuerySchema(Schema):
    province = fields.String(validate=validate.Regexp(PROVINCE))
    level = fields.String(validate=validate.OneOf(AGENCY_LEVELS))
    parent = fields.String(validate=validate.Regexp(REFERENCE_CODE))


class CodeName(Schema):
    code = fields.String()
    name = fields.String()


class FeeSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    amount = fields.Integer(required=True, validate=validate.Range(min=0))
    online_amount = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class DocumentSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(REFERENCE_CODE))
    name = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    required = fields.Boolean(load_default=True)
    copies = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20))
    template = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ProcedureInputSchema(Schema):
    """A procedure as an administrator publishes or replaces it (references by code)."""

    code = fields.String(required=True, validate=validate.Regexp(PROCEDURE_CODE))
    name = fields.String(required=True, validate=validate.Length(min=3, max=500))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    field = fields.String(required=True, validate=validate.Regexp(REFERENCE_CODE))
    life_events = fields.List(
        fields.String(validate=validate.Regexp(REFERENCE_CODE)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    audience = fields.List(
        fields.String(validate=validate.OneOf(AUDIENCES)),
        load_default=lambda: ["citizen"],
        validate=validate.Length(min=1, max=2),
    )
    agencies = fields.List(
        fields.String(validate=validate.Regexp(REFERENCE_CODE)),
        required=True,
        validate=validate.Length(min=1, max=2000),
    )
    service_level = fields.String(required=True, validate=validate.OneOf(SERVICE_LEVELS))
    processing_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    fees = fields.List(fields.Nested(FeeSchema), load_default=list)
    documents = fields.List(
        fields.Nested(DocumentSchema), load_default=list, validate=validate.Length(max=100)
    )
    form = fields.Dict(load_default=dict)
    result_delivery = fields.List(
        fields.String(validate=validate.OneOf(DELIVERY_METHODS)),
        required=True,
        validate=validate.Length(min=1, max=3),
    )
    legal_basis = fields.List(
        fields.String(validate=validate.Length(min=1, max=500)), load_default=list
    )
    steps = fields.List(fields.String(validate=validate.Length(min=1, max=2000)), load_default=list)


class ProcedureUpdateSchema(ProcedureInputSchema):
    """A replacement: the code comes from the path; `expected_version` guards lost updates."""

    code = fields.String(validate=validate.Regexp(PROCEDURE_CODE))
    expected_version = fields.Integer(validate=validate.Range(min=1))


class LifeEventSchema(Schema):
    code = fields.String()
    name = fields.String()
    audience = fields.String()


class AgencySchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True)
    province = fields.String()


class ProcedureSchema(Schema):
    """The public JSON of a procedure; the same object travels in catalog.procedure.*."""

    code = fields.String()
    name = fields.String()
    description = fields.String()
    field = fields.Nested(CodeName)
    life_events = fields.List(fields.Nested(LifeEventSchema))
    audience = fields.List(fields.String())
    agencies = fields.List(fields.Nested(AgencySchema))
    service_level = fields.String()
    processing_days = fields.Integer()
    fees = fields.List(fields.Nested(FeeSchema))
    documents = fields.List(fields.Nested(DocumentSchema))
    form = fields.Dict()
    result_delivery = fields.List(fields.String())
    legal_basis = fields.List(fields.String())
    steps = fields.List(fields.String())
    version = fields.Integer()
    province = fields.String()


class ProcedureSummarySchema(Schema):
    code = fields.String()
    name = fields.String()
    province = fields.String()
    field = fields.Nested(CodeName)
    service_level = fields.String()
    processing_days = fields.Integer()
    audience = fields.List(fields.String())
    version = fields.Integer()


class ProcedurePageSchema(Schema):
    items = fields.List(fields.Nested(ProcedureSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class WithdrawnSchema(Schema):
    code = fields.String()
    version = fields.Integer()
    province = fields.String()


class AgencyListSchema(Schema):
    items = fields.List(fields.Nested(AgencySchema))
    total = fields.Integer()


class FieldListSchema(Schema):
    items = fields.List(fields.Nested(CodeName))
    total = fields.Integer()


class LifeEventListSchema(Schema):
    items = fields.List(fields.Nested(LifeEventSchema))
    total = fields.Integer()
