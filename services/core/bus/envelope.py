"""The message envelope every event and command travels in."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from services.core.clock import format_timestamp, utcnow

__all__ = ["CONTENT_TYPE", "PERSISTENT", "Envelope", "EnvelopeError"]

CONTENT_TYPE = "application/json"
PERSISTENT = 2


class EnvelopeError(ValueError):
    """A message body is not a valid envelope."""


class EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = fields.String(
        required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    )
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    province = fields.String(load_default="", validate=validate.Length(max=8))
    correlation_id = fields.String(load_default=None, allow_none=True)
    causation_id = fields.String(load_default=None, allow_none=True)
    subject = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


_SCHEMA = EnvelopeSchema()


@dataclass(frozen=True)
class Envelope:
    """One event or command: identity, type, origin, causality and data."""

    type: str
    data: dict[str, Any]
    source: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 1
    occurred_at: datetime = field(default_factory=utcnow)
    province: str = ""
    correlation_id: str | None = None
    causation_id: str | None = None
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": format_timestamp(self.occurred_at),
            "source": self.source,
            "province": self.province,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "subject": self.subject,
            "data": self.data,
        }

    def validate(self) -> None:
        """Raise EnvelopeError if this envelope would not pass a consumer's checks."""
        errors = _SCHEMA.validate(self.to_dict())
        if errors:
            raise EnvelopeError(f"invalid envelope: {errors}")

    def to_body(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_body(cls, body: bytes) -> Envelope:
        """Parse and validate a message body; raise EnvelopeError if it is not an envelope."""
        try:
            raw = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError(f"body is not UTF-8 JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise EnvelopeError("body is not a JSON object")
        try:
            loaded = _SCHEMA.load(raw)
        except ValidationError as exc:
            raise EnvelopeError(f"invalid envelope: {exc.messages}") from exc
        return cls(
            id=str(loaded["id"]),
            type=loaded["type"],
            version=loaded["version"],
            occurred_at=loaded["occurred_at"],
            source=loaded["source"],
            province=loaded["province"],
            correlation_id=loaded["correlation_id"],
            causation_id=loaded["causation_id"],
            subject=loaded["subject"],
            data=loaded["data"],
        )
