# mypy: disable-error-code="untyped-decorator"
"""HTTP routes of the identity service: thin, schemas in and out."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.core.auth import TokenVerifier, current_claims, require_auth
from services.core.service import current_context
from services.identity import schemas as s
from services.identity import sessions
from services.identity.accounts import access_log, profile
from services.identity.context import Caller, IdentityContext
from services.identity.login import Logins, LoginStarted
from services.identity.models import Account
from services.identity.otp import OtpState, OtpStep, StepStatus
from services.identity.password_change import PasswordChanges
from services.identity.recovery import AddedPhone, PasswordResets, PhoneAdditions
from services.identity.registration import AccountCreated, RegistrationRequest, Registrations
from services.identity.tokens import refused

blp = Blueprint("identity", __name__, url_prefix="/api/identity", description="Identity service")


def identity() -> IdentityContext:
    return current_context(IdentityContext)


def verifier() -> TokenVerifier:
    return identity().verifier


def caller() -> Caller:
    return Caller(ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))


authenticated = require_auth(verifier)


# -- registration ---------------------------------------------------------------------


@blp.route("/registrations", methods=["POST"])
@blp.arguments(s.RegistrationRequestSchema)
@blp.response(201, s.FlowStartedSchema)
def start_registration(body: dict[str, Any]) -> OtpStep:
    """Start a registration: carrier check, then an OTP to the phone."""
    return Registrations(identity()).start(RegistrationRequest(**body))


@blp.route("/registrations/<registration_id>/otp/resend", methods=["POST"])
@blp.response(200, s.OtpOnlySchema)
def resend_registration_otp(registration_id: str) -> OtpStep:
    return Registrations(identity()).resend(registration_id)


@blp.route("/registrations/<registration_id>/otp/verify", methods=["POST"])
@blp.arguments(s.CodeSchema)
@blp.response(200, s.StepSchema)
def verify_registration_otp(body: dict[str, Any], registration_id: str) -> StepStatus:
    return Registrations(identity()).verify(registration_id, body["code"])


@blp.route("/registrations/<registration_id>/complete", methods=["POST"])
@blp.arguments(s.PasswordSchema)
@blp.response(201, s.AccountCreatedSchema)
def complete_registration(body: dict[str, Any], registration_id: str) -> AccountCreated:
    return Registrations(identity()).complete(
        registration_id, body["password"], body["password_confirmation"]
    )


# -- login ----------------------------------------------------------------------------


@blp.route("/logins", methods=["POST"])
@blp.arguments(s.LoginRequestSchema)
@blp.response(201, s.LoginStartedSchema)
def start_login(body: dict[str, Any]) -> LoginStarted:
    """Step 1: username (citizen ID) and password; an OTP goes to the default OTP phone."""
    return Logins(identity()).start(body["username"], body["password"], caller())


@blp.route("/logins/<login_id>/otp/resend", methods=["POST"])
@blp.arguments(s.ResendSchema)
@blp.response(200, s.OtpOnlySchema)
def resend_login_otp(body: dict[str, Any], login_id: str) -> OtpStep:
    return Logins(identity()).resend(login_id, body.get("phone_index"))


@blp.route("/logins/<login_id>/otp/verify", methods=["POST"])
@blp.arguments(s.CodeSchema)
@blp.response(200, s.TokenPairSchema)
def verify_login_otp(body: dict[str, Any], login_id: str) -> dict[str, Any]:
    """Step 2: the OTP; answers the access and refresh tokens."""
    return Logins(identity()).verify(login_id, body["code"], caller())


@blp.route("/logins/<login_id>/phone-change", methods=["POST"])
@blp.arguments(s.PhoneSchema)
@blp.response(202, s.OtpOnlySchema)
def start_phone_change(body: dict[str, Any], login_id: str) -> OtpStep:
    """Lost OTP phone: the carrier is asked, then an OTP goes to the new number."""
    return Logins(identity()).start_phone_change(login_id, body["phone"], caller())


@blp.route("/logins/<login_id>/phone-change/otp/resend", methods=["POST"])
@blp.response(200, s.OtpOnlySchema)
def resend_phone_change_otp(login_id: str) -> OtpStep:
    return Logins(identity()).resend_phone_change(login_id)


@blp.route("/logins/<login_id>/phone-change/verify", methods=["POST"])
@blp.arguments(s.CodeSchema)
@blp.response(200, s.TokenPairSchema)
def verify_phone_change(body: dict[str, Any], login_id: str) -> dict[str, Any]:
    """The OTP of the new number; the carrier must list it under the account's person."""
    return Logins(identity()).verify_phone_change(login_id, body["code"], caller())


@blp.route("/tokens/refresh", methods=["POST"])
@blp.arguments(s.RefreshRequestSchema)
@blp.response(200, s.TokenPairSchema)
def refresh_tokens(body: dict[str, Any]) -> dict[str, Any]:
    """Spend a refresh token for a new pair; reuse of a spent one revokes its family."""
    ident = identity()
    ident.keys.ensure_key()
    with ident.transaction() as session:
        pair = ident.tokens.refresh(session, body["refresh_token"])
    if pair is None:
        raise refused()
    return pair.to_dict()


# -- password reset -------------------------------------------------------------------


@blp.route("/password-resets", methods=["POST"])
@blp.arguments(s.UsernameSchema)
@blp.response(201, s.ResetStartedSchema)
def start_password_reset(body: dict[str, Any]) -> OtpStep:
    """Same answer whether or not the account exists."""
    return PasswordResets(identity()).start(body["username"])


@blp.route("/password-resets/<reset_id>/otp/resend", methods=["POST"])
@blp.response(200, s.ResetOtpOnlySchema)
def resend_password_reset_otp(reset_id: str) -> OtpStep:
    return PasswordResets(identity()).resend(reset_id)


@blp.route("/password-resets/<reset_id>/otp/verify", methods=["POST"])
@blp.arguments(s.CodeSchema)
@blp.response(200, s.StepSchema)
def verify_password_reset_otp(body: dict[str, Any], reset_id: str) -> StepStatus:
    return PasswordResets(identity()).verify(reset_id, body["code"])


@blp.route("/password-resets/<reset_id>/complete", methods=["POST"])
@blp.arguments(s.PasswordSchema)
@blp.response(200, s.StatusSchema)
def complete_password_reset(body: dict[str, Any], reset_id: str) -> StepStatus:
    return PasswordResets(identity()).complete(
        reset_id, body["password"], body["password_confirmation"]
    )


# -- the account holder ---------------------------------------------------------------


def _account(session: Any) -> Account:
    account = session.get(Account, current_claims().sub)
    if account is None:
        raise refused()
    return cast(Account, account)


@blp.route("/me", methods=["GET"])
@blp.response(200, s.MeSchema)
@authenticated
def me() -> dict[str, Any]:
    with identity().transaction() as session:
        return profile(session, _account(session))


@blp.route("/me/access-log", methods=["GET"])
@blp.response(200, s.AccessLogSchema)
@authenticated
def my_access_log() -> dict[str, Any]:
    ident = identity()
    with ident.transaction() as session:
        items = access_log(session, _account(session).id, ident.config.access_log_size)
    return {"items": items, "total": len(items)}


@blp.route("/me/otp-phones")
class MyOtpPhones(MethodView):
    @blp.response(200, s.OtpPhonesSchema)
    @authenticated
    def get(self) -> dict[str, Any]:
        with identity().transaction() as session:
            return {"items": profile(session, _account(session))["otp_phones"]}

    @blp.arguments(s.OtpPhoneRequestSchema)
    @blp.response(202, s.FlowStartedSchema)
    @authenticated
    def post(self, body: dict[str, Any]) -> OtpStep:
        """Add an OTP phone: the password again, the carrier, then an OTP goes to it."""
        return PhoneAdditions(identity()).start(
            current_claims().sub, body["phone"], body["password"]
        )


@blp.route("/me/otp-phones/<flow_id>/verify", methods=["POST"])
@blp.arguments(s.CodeSchema)
@blp.response(201, s.OtpPhoneSchema)
@authenticated
def verify_new_otp_phone(body: dict[str, Any], flow_id: str) -> AddedPhone:
    return PhoneAdditions(identity()).verify(current_claims().sub, flow_id, body["code"])


@blp.route("/.well-known/jwks.json", methods=["GET"])
@blp.doc(summary="Public signing keys (JWKS)")
@blp.response(200, s.JwksSchema)
def jwks() -> Response:
    response = jsonify(identity().keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


# -- sessions (logout, the holder's sessions) -------------------------------------------


def _session_id() -> str | None:
    """The session (refresh family) of the caller's access token; older tokens have none."""
    sid = current_claims().raw.get("sid")
    return sid if isinstance(sid, str) else None


@blp.route("/logout", methods=["POST"])
@blp.arguments(s.LogoutSchema)
@blp.response(204)
@authenticated
def logout(body: dict[str, Any]) -> None:
    """End the session of this refresh token: a later refresh answers 401."""
    ctx = identity()
    with ctx.transaction() as session:
        sessions.logout(session, current_claims().sub, body["refresh_token"], ctx.clock())


@blp.route("/me/sessions", methods=["GET"])
@blp.response(200, s.SessionsSchema)
@authenticated
def my_sessions() -> dict[str, Any]:
    ctx = identity()
    with ctx.transaction() as session:
        items = sessions.list_sessions(session, _account(session).id, _session_id(), ctx.clock())
    return {"items": items, "total": len(items)}


@blp.route("/me/sessions/<session_id>", methods=["DELETE"])
@blp.response(204)
@authenticated
def end_my_session(session_id: str) -> None:
    """End one of the holder's sessions (another device, or this one)."""
    ctx = identity()
    with ctx.transaction() as session:
        sessions.revoke_session(session, current_claims().sub, session_id, ctx.clock())


@blp.route("/me/password", methods=["POST"])
@blp.arguments(s.ChangePasswordSchema)
@blp.response(204)
@authenticated
def change_my_password(body: dict[str, Any]) -> None:
    """The current password, then a new one under the same rules; other sessions end."""
    PasswordChanges(identity()).change(
        current_claims().sub,
        _session_id(),
        body["current_password"],
        body["new_password"],
        body["new_password_confirmation"],
        caller(),
    )


# -- the flow state the page follows (delivery of the current OTP) ---------------------


@blp.route("/registrations/<registration_id>/otp", methods=["GET"])
@blp.response(200, s.OtpStateSchema)
def registration_otp(registration_id: str) -> OtpStep:
    """The current OTP: where it went, until when, and whether notify delivered it."""
    return _state(Registrations(identity()).otp_state(registration_id))


@blp.route("/logins/<login_id>/otp", methods=["GET"])
@blp.response(200, s.OtpStateSchema)
def login_otp(login_id: str) -> OtpStep:
    return _state(Logins(identity()).otp_state(login_id))


@blp.route("/logins/<login_id>/phone-change/otp", methods=["GET"])
@blp.response(200, s.OtpStateSchema)
def phone_change_otp(login_id: str) -> OtpStep:
    return _state(Logins(identity()).otp_state(login_id, phone_change=True))


@blp.route("/password-resets/<reset_id>/otp", methods=["GET"])
@blp.response(200, s.ResetOtpStateSchema)
def password_reset_otp(reset_id: str) -> OtpStep:
    """As a real reset's, for an unknown account too (a decoy "arrives" as well)."""
    return _state(PasswordResets(identity()).otp_state(reset_id))


def _state(otp: OtpState) -> OtpStep:
    return OtpStep(otp=otp)
