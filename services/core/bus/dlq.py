"""Operator access to a service's dead-letter queue: list and replay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from services.core.bus.names import (
    HEADER_ATTEMPTS,
    HEADER_FAILED_AT,
    HEADER_FAILURE_KIND,
    HEADER_FAILURE_REASON,
    HEADER_ORIGINAL_QUEUE,
    Names,
)
from services.core.bus.topology import connection_parameters
from services.core.config import BusSettings

_FAILURE_HEADERS = (HEADER_FAILURE_KIND, HEADER_FAILURE_REASON, HEADER_FAILED_AT, HEADER_ATTEMPTS)


class NoDeadLetterQueue(LookupError):
    """The service's dead-letter queue is not on this broker (nothing declared it)."""

    def __init__(self, service: str, queue: str) -> None:
        super().__init__(
            f"{service} has no dead-letter queue: {queue} is not declared on this broker "
            f"(a service's worker declares it when it consumes)"
        )
        self.service = service
        self.queue = queue


def _dead_letter_count(channel: BlockingChannel, service: str, queue: str) -> int:
    """Messages in the DLQ now; NoDeadLetterQueue when there is none."""
    try:
        return int(channel.queue_declare(queue, passive=True).method.message_count)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            raise NoDeadLetterQueue(service, queue) from None
        raise


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    type: str | None
    kind: str | None
    reason: str | None
    attempts: int
    failed_at: str | None
    queue: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _describe(properties: BasicProperties) -> DeadLetter:
    headers = properties.headers or {}
    deaths = headers.get("x-death") or []
    queue = headers.get(HEADER_ORIGINAL_QUEUE) or (deaths[0].get("queue") if deaths else None)
    reason = headers.get(HEADER_FAILURE_REASON) or (
        f"broker: {deaths[0].get('reason')}" if deaths else None
    )
    return DeadLetter(
        message_id=properties.message_id,
        type=properties.type,
        kind=headers.get(HEADER_FAILURE_KIND) or ("delivery_limit" if deaths else None),
        reason=_text(reason),
        attempts=int(headers.get(HEADER_ATTEMPTS, 0)),
        failed_at=_text(headers.get(HEADER_FAILED_AT)),
        queue=_text(queue),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def list_dead_letters(settings: BusSettings, service: str, limit: int = 1000) -> list[DeadLetter]:
    """What waits in the service's DLQ, oldest first; nothing is removed."""
    names = Names(settings.namespace)
    found: list[DeadLetter] = []
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        dlq = names.dead_letter_queue(service)
        _dead_letter_count(channel, service, dlq)
        last_tag = None
        for _ in range(limit):
            method, properties, _body = channel.basic_get(dlq)
            if method is None:
                break
            last_tag = method.delivery_tag
            found.append(_describe(properties))
        if last_tag is not None:
            channel.basic_nack(last_tag, multiple=True, requeue=True)
    return found


def replay_dead_letters(
    settings: BusSettings, service: str, message_id: str | None = None, limit: int = 100_000
) -> list[str]:
    """Put dead letters (all, or the one with `message_id`) back on their queue.

    Attempts start again from zero. Returns the ids replayed.
    """
    names = Names(settings.namespace)
    replayed: list[str] = []
    with pika.BlockingConnection(connection_parameters(settings)) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        dlq = names.dead_letter_queue(service)
        keep: list[int] = []
        # Only the letters there now: a replayed letter that fails again at once comes
        # back behind them and waits for the next replay instead of looping in this one.
        present = _dead_letter_count(channel, service, dlq)
        # Messages we keep stay unacknowledged until the end, so each is seen once.
        for _ in range(min(limit, present)):
            method, properties, body = channel.basic_get(dlq)
            if method is None:
                break
            if message_id is not None and properties.message_id != message_id:
                keep.append(method.delivery_tag)
                continue
            letter = _describe(properties)
            target = letter.queue or names.events_queue(service)
            headers = {
                k: v
                for k, v in (properties.headers or {}).items()
                if k not in _FAILURE_HEADERS and k != "x-death"
            }
            channel.basic_publish(
                "",
                target,
                body,
                BasicProperties(
                    message_id=properties.message_id,
                    type=properties.type,
                    content_type=properties.content_type,
                    correlation_id=properties.correlation_id,
                    delivery_mode=2,
                    headers=headers,
                ),
                mandatory=True,
            )
            channel.basic_ack(method.delivery_tag)
            replayed.append(properties.message_id or "")
        for tag in keep:
            channel.basic_nack(tag, requeue=True)
    return replayed


def format_dead_letters(letters: list[DeadLetter]) -> str:
    return "\n".join(json.dumps(letter.as_dict(), ensure_ascii=False) for letter in letters)
