"""HTTP routes of the notify service: thin, schemas in and out."""

from __future__ import annotations

from typing import Any

from services.core.auth import TokenVerifier, current_claims, require_auth
from services.core.service import current_context
from services.notify import queries
from services.notify.blueprint import TypedBlueprint
from services.notify.context import NotifyContext
from services.notify.problems import InboxItemNotFound, InvalidRecipient
from services.notify.schemas import (
    DevOutboxQuerySchema,
    DevOutboxSchema,
    InboxItemSchema,
    InboxPageSchema,
    InboxQuerySchema,
    NotificationsPageSchema,
    NotificationsQuerySchema,
)

blp = TypedBlueprint("notify", __name__, url_prefix="/api/notify", description="Notify service")
dev_blp = TypedBlueprint(
    "notify_dev",
    __name__,
    url_prefix="/api/notify/dev",
    description="Development only: what would have been sent",
)


def _ctx() -> NotifyContext:
    return current_context(NotifyContext)


def _verifier() -> TokenVerifier:
    return _ctx().verifier


def _recipient(raw: str | None) -> str | None:
    return None if raw is None else _address(raw)


def _address(raw: str) -> str:
    try:
        return queries.normalize_recipient(raw)
    except queries.InvalidRecipient as exc:
        raise InvalidRecipient("to") from exc


@blp.get("/inbox")
@blp.arguments(InboxQuerySchema, location="query")
@blp.response(200, InboxPageSchema)
@require_auth(_verifier)
def inbox(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's in-portal messages, newest first."""
    account_id = current_claims().sub
    with _ctx().read() as session:
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
    ctx = _ctx()
    with ctx.transaction() as session:
        item = queries.mark_read(session, current_claims().sub, item_id[:64], ctx.clock())
        if item is None:
            raise InboxItemNotFound()
        return item


@blp.get("/notifications")
@blp.arguments(NotificationsQuerySchema, location="query")
@blp.response(200, NotificationsPageSchema)
@require_auth(_verifier, "admin")
def notifications(args: dict[str, Any]) -> Any:
    """Admin: notifications with their delivery attempts, newest first."""
    with _ctx().read() as session:
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
    with _ctx().read() as session:
        return {"items": queries.dev_outbox(session, to, args["limit"])}
