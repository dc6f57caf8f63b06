"""Marshmallow schemas of the notify HTTP API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.core.contracts.notify import Channel
from services.core.pagination import PageQuerySchema
from services.notify.delivery import STATUSES, masked_recipient
from services.notify.models import Notification


class InboxQuerySchema(PageQuerySchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread"})


class InboxItemSchema(Schema):
    id = fields.String()
    subject = fields.String()
    body = fields.String()
    template = fields.String()
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Method("is_read")
    read_at = fields.DateTime(allow_none=True)

    def is_read(self, item: Any) -> bool:
        return item.read_at is not None


class InboxPageSchema(Schema):
    items = fields.List(fields.Nested(InboxItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    unread = fields.Integer()


class DevOutboxQuerySchema(Schema):
    to = fields.String(
        required=True,
        validate=validate.Length(min=3, max=320),
        metadata={
            "description": "an e-mail address or a phone in any accepted form (required: "
            "the messages hold OTP codes, so there is no listing of everyone's)"
        },
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DevOutboxItemSchema(Schema):
    channel = fields.String()
    to = fields.String()
    subject = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


class DevOutboxSchema(Schema):
    items = fields.List(fields.Nested(DevOutboxItemSchema))


class NotificationsQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))
    to = fields.String(validate=validate.Length(min=3, max=320))
    reference = fields.String(validate=validate.Length(max=128))
    account_id = fields.String(validate=validate.Length(max=64))


class AttemptSchema(Schema):
    number = fields.Integer()
    provider = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    provider_reference = fields.String(allow_none=True)


class NotificationSchema(Schema):
    id = fields.String()
    command_id = fields.String()
    channel = fields.String()
    template = fields.String()
    reference = fields.String(allow_none=True)
    account_id = fields.String(allow_none=True)
    to = fields.Method("masked_to", metadata={"description": "masked address"})
    status = fields.String()
    failure_reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    segments = fields.Integer(allow_none=True)
    encoding = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    delivery_attempts = fields.List(fields.Nested(AttemptSchema))

    def masked_to(self, notification: Notification) -> str | None:
        return masked_recipient(notification)


class NotificationsPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
