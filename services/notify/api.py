"""HTTP routes of the notify service: thin, schemas in and out."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from services.core.auth import TokenVerifier, current_claims, require_auth
from services.core.bus.envelope import utcnow
from services.core.problems import NotFound, ValidationProblem, register_messages
from services.notify import queries
from services.notify.blueprint import TypedBlueprint
from services.notify.schemas import (
    DevOutboxQuerySchema,
    DevOutboxSchema,
    InboxItemSchema,
    InboxPageSchema,
    InboxQuerySchema,
    NotificationsPageSchema,
    NotificationsQuerySchema,
)

VERIFIER_KEY = "notify_verifier"

register_messages(
    {
        "inbox_item_not_found": ("Không tìm thấy thông báo.", "No such inbox message."),
        "invalid_recipient": (
            "Địa chỉ nhận không hợp lệ: cần một địa chỉ e-mail hoặc số điện thoại di động.",
            "Not an e-mail address or a mobile number.",
        ),
    }
)

blp = TypedBlueprint("notify", __name__, url_prefix="/api/notify", description="Notify service")
dev_blp = TypedBlueprint(
    "notify_dev",
    __name__,
    url_prefix="/api/notify/dev",
    description="Development only: what would have been sent",
)


def _verifier() -> TokenVerifier:
    verifier: TokenVerifier = current_app.extensions[VERIFIER_KEY]
    return verifier


def _session() -> Session:
    session: Session = current_app.extensions["database"].sessions()
    return session


def _recipient(raw: str | None) -> str | None:
    return None if raw is None else _address(raw)


def _address(raw: str) -> str:
    try:
        return queries.normalize_recipient(raw)
    except queries.InvalidRecipient as exc:
        raise ValidationProblem(
            "invalid_recipient", errors={"to": ["an e-mail address or a mobile number"]}
        ) from exc


@blp.get("/inbox")
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxPageSchema)
@require_auth(_verifier)
def inbox(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's in-portal messages, newest first."""
    account_id = current_claims().sub
    with _session() as session:
        page = queries.inbox_page(
            session, account_id, args["page"], args["per_page"], args["unread"]
        )
        unread = queries.unread_count(session, account_id)
    return {**page.__dict__, "unread": unread}


@blp.post("/inbox/<string:item_id>/read")
@blp.response(200, InboxItemSchema)
@require_auth(_verifier)
def mark_read(item_id: str) -> Any:
    """Mark one of the caller's messages read (again is fine)."""
    with _session() as session, session.begin():
        item = queries.mark_read(session, current_claims().sub, item_id[:64], utcnow())
        if item is None:
            raise NotFound("inbox_item_not_found")
        return item


@blp.get("/notifications")
@blp.arguments(NotificationsQuerySchema, location="query")
@blp.response(200, NotificationsPageSchema)
@require_auth(_verifier, "admin")
def notifications(args: dict[str, Any]) -> Any:
    """Admin: notifications with their delivery attempts, newest first."""
    with _session() as session:
        return queries.notifications_page(
            session,
            status=args.get("status"),
            to=_recipient(args.get("to")),
            channel=args.get("channel"),
            reference=args.get("reference"),
            account_id=args.get("account_id"),
            page=args["page"],
            per_page=args["per_page"],
        )


@dev_blp.get("/outbox")
@dev_blp.arguments(DevOutboxQuerySchema, location="query")
@dev_blp.response(200, DevOutboxSchema)
def dev_outbox(args: dict[str, Any]) -> dict[str, Any]:
    """SMS and e-mails the dev outbox "sent" to one address (`to` is required), newest first."""
    to = _address(args["to"])
    with _session() as session:
        return {"items": queries.dev_outbox(session, to, args["limit"])}
