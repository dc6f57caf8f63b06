"""Request and response schemas of the identity API (marshmallow, for flask-smorest)."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate


class OtpSchema(Schema):
    sent_to = fields.String(metadata={"description": "masked phone the code went to"})
    expires_at = fields.String()
    resend_after = fields.String()
    resend_in = fields.Integer(metadata={"description": "seconds until a resend is allowed"})


class RegistrationRequestSchema(Schema):
    citizen_id = fields.String(required=True, validate=validate.Length(max=20))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    date_of_birth = fields.Date(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(["male", "female"]))
    phone = fields.String(required=True, validate=validate.Length(max=32))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class FlowStartedSchema(Schema):
    id = fields.String()
    otp = fields.Nested(OtpSchema)


class LoginStartedSchema(FlowStartedSchema):
    otp_phones = fields.List(fields.String())


class OtpOnlySchema(Schema):
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
    expires_at = fields.String()
    resend_after = fields.String()
    resend_in = fields.Integer()


class ResetStartedSchema(Schema):
    id = fields.String()
    otp = fields.Nested(ResetOtpSchema)


class ResetOtpOnlySchema(Schema):
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
