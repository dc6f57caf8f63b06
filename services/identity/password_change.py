"""The account holder changes their password: the current one, then the same rules as a
new account; every other session ends."""

from __future__ import annotations

from services.core.problems import Problem, TooManyRequests, kept, register_messages
from services.identity.accounts import log_access
from services.identity.context import Caller, IdentityContext
from services.identity.login import Logins, throttle_key
from services.identity.models import Account, LoginThrottle
from services.identity.person import person_of_account
from services.identity.registration import check_password
from services.identity.sessions import revoke_all

WRONG_CURRENT = "current_password_invalid"

MESSAGES: dict[str, tuple[str, str]] = {
    WRONG_CURRENT: (
        "Mật khẩu hiện tại không đúng.",
        "The current password is not correct.",
    ),
}
register_messages(MESSAGES)

FIELDS = {"password": "new_password", "password_confirmation": "new_password_confirmation"}


def _renamed(problem: Problem) -> Problem:
    """The registration's field names (password...) as this call names them (new_password...)."""
    if problem.errors:
        problem.errors = {FIELDS.get(k, k): v for k, v in problem.errors.items()}
    return problem


class PasswordChanges:
    def __init__(self, ctx: IdentityContext) -> None:
        self.ctx = ctx
        self.logins = Logins(ctx)

    def change(
        self,
        account_id: str,
        session_id: str | None,
        current: str,
        new: str,
        confirmation: str,
        caller: Caller,
    ) -> None:
        """204 or a problem: wrong current password (counted like a failed login), a weak
        or mismatched new one. Every session but the caller's own (`session_id`) ends."""
        now = self.ctx.clock()
        with self.ctx.transaction() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise Problem("invalid_token", status=401)
            key = throttle_key(account.username)
            throttle = session.get(LoginThrottle, key)
            if throttle and throttle.blocked_until and throttle.blocked_until > now:
                retry = (throttle.blocked_until - now).total_seconds()
                raise TooManyRequests("login_throttled", retry_after=int(retry + 0.999))
            password_hash = account.password_hash
            person = person_of_account(session, account)
        if not self.ctx.hashing.verify(password_hash, current):
            with self.ctx.transaction() as session:
                self.logins._record_failure(session, key, self.ctx.clock())
                log_access(
                    session,
                    account_id,
                    at=self.ctx.clock(),
                    method="password_change",
                    result="failed",
                    **caller.__dict__,
                )
                raise kept(
                    Problem(
                        WRONG_CURRENT,
                        status=422,
                        errors={"current_password": [MESSAGES[WRONG_CURRENT][0]]},
                    )
                )
        try:
            check_password(new, confirmation, person)
        except Problem as problem:
            raise _renamed(problem) from None
        new_hash = self.ctx.hashing.hash(new)
        with self.ctx.transaction() as session:
            account = session.get(Account, account_id, with_for_update=True)
            if account is None:
                raise Problem("invalid_token", status=401)
            now = self.ctx.clock()
            account.password_hash = new_hash
            account.password_changed_at = now
            throttle = session.get(LoginThrottle, key)
            if throttle is not None:
                session.delete(throttle)
            revoke_all(session, account_id, now, keep=session_id)
            log_access(
                session,
                account_id,
                at=now,
                method="password_change",
                result="success",
                **caller.__dict__,
            )
