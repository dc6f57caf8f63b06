"""Request and response schemas of the identity API (marshmallow, for flask-smorest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from marshmallow import INCLUDE, Schema, fields, post_dump, validate

from services.core.clock import format_timestamp
from services.core.problems import wants_english

DELIVERY = ["pending", "delivered", "failed"]


class Timestamp(fields.Field[datetime]):
    """A datetime answered as the contract's ISO 8601 UTC with milliseconds and a Z."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return format_timestamp(value) if isinstance(value, datetime) else value


class OtpSchema(Schema):
    sent_to = fields.String(metadata={"description": "masked phone the code went to"})
    expires_at = Timestamp(metadata={"type": "string", "format": "date-time"})
    resend_after = Timestamp(metadata={"type": "string", "format": "date-time"})
    resend_in = fields.Integer(metadata={"description": "seconds until a resend is allowed"})
    delivery = fields.String(
        validate=validate.OneOf(DELIVERY),
        metadata={"description": "what notify reported about the code's SMS"},
    )


class OtpProblemSchema(Schema):
    """`otp_not_delivered`: the code could not be sent; the detail says what to do next."""

    code = fields.String()
    title = fields.String()
    detail = fields.String()


class WithOtpProblem(Schema):
    """An answer that carries `problem` when the code's delivery failed."""

    problem = fields.Method("_problem", metadata={"type": "object"})

    def _problem(self, obj: Any) -> dict[str, str] | None:
        problem = getattr(obj, "problem", None)
        if problem is None:
            return None
        return problem.to_dict(has_request_context() and wants_english(request))  # type: ignore[no-any-return]

    @post_dump
    def _drop_empty_problem(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("problem") is None:
            data.pop("problem", None)
        return data


class RegistrationRequestSchema(Schema):
    citizen_id = fields.String(required=True, validate=validate.Length(max=20))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date_of_birth = fields.Date(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(["male", "female"]))
    phone = fields.String(required=True, validate=validate.Length(max=32))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class FlowStartedSchema(WithOtpProblem):
    id = fields.String()
    otp = fields.Nested(OtpSchema)


class LoginStartedSchema(FlowStartedSchema):
    otp_phones = fields.List(fields.String())


class OtpOnlySchema(WithOtpProblem):
    otp = fields.Nested(OtpSchema)


class CodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))


class StepSchema(Schema):
    id = fields.String()
    status = fields.String()


class PasswordSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(max=1024))
    password_confirmation = fields.String(required=True, validate=validate.Length(max=1024))


class AccountCreatedSchema(Schema):
    account_id = fields.String()
    verification_level = fields.Integer()


class LoginRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(max=1024))


class ResendSchema(Schema):
    phone_index = fields.Integer(load_default=None, allow_none=True)


class PhoneSchema(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=32))


class TokenPairSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    refresh_token = fields.String()


class RefreshRequestSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UsernameSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ResetOtpSchema(Schema):
    """A reset's OTP never says where it went: that would tell whether the account exists."""

    expires_at = Timestamp(metadata={"type": "string", "format": "date-time"})
    resend_after = Timestamp(metadata={"type": "string", "format": "date-time"})
    resend_in = fields.Integer()
    delivery = fields.String(validate=validate.OneOf(DELIVERY))


class ResetStartedSchema(WithOtpProblem):
    id = fields.String()
    otp = fields.Nested(ResetOtpSchema)


class ResetOtpOnlySchema(WithOtpProblem):
    otp = fields.Nested(ResetOtpSchema)


class StatusSchema(Schema):
    status = fields.String()


class OtpPhoneSchema(Schema):
    id = fields.String()
    phone = fields.String(metadata={"description": "masked"})
    is_default = fields.Boolean()


class MeSchema(Schema):
    id = fields.String()
    username = fields.String()
    full_name = fields.String()
    citizen_id = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    agency = fields.String(allow_none=True)
    verification_level = fields.Integer()
    otp_phones = fields.List(fields.Nested(OtpPhoneSchema))
    created_at = fields.String()


class AccessLogItemSchema(Schema):
    at = fields.String()
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    method = fields.String()
    result = fields.String()


class AccessLogSchema(Schema):
    items = fields.List(fields.Nested(AccessLogItemSchema))
    total = fields.Integer()


class OtpPhonesSchema(Schema):
    items = fields.List(fields.Nested(OtpPhoneSchema))


class JwkSchema(Schema):
    """One public key (RFC 7517); members beyond these are allowed."""

    class Meta:
        unknown = INCLUDE

    kty = fields.String(required=True)
    kid = fields.String(required=True)
    alg = fields.String()
    use = fields.String()
    crv = fields.String()
    x = fields.String()


class JwksSchema(Schema):
    keys = fields.List(fields.Nested(JwkSchema), required=True)


class LogoutSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SessionItemSchema(Schema):
    id = fields.String()
    created_at = fields.String()
    last_used_at = fields.String()
    device = fields.String(metadata={"description": "browser and system, from the user agent"})
    ip = fields.String(allow_none=True, metadata={"description": "masked"})
    current = fields.Boolean(metadata={"description": "the session of this access token"})


class SessionsSchema(Schema):
    items = fields.List(fields.Nested(SessionItemSchema))
    total = fields.Integer()


class ChangePasswordSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(max=1024))
    new_password = fields.String(required=True, validate=validate.Length(max=1024))
    new_password_confirmation = fields.String(required=True, validate=validate.Length(max=1024))


class OtpPhoneRequestSchema(PhoneSchema):
    """Adding an OTP phone asks for the account's password again (re-authentication)."""

    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class OtpStateSchema(WithOtpProblem):
    """The flow state the page follows: `problem` (otp_not_delivered) when delivery failed."""

    otp = fields.Nested(OtpSchema)


class ResetOtpStateSchema(WithOtpProblem):
    otp = fields.Nested(ResetOtpSchema)
