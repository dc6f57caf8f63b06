"""The shape of one contract entry: a message type, who sends it and what its data holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True)
class Message:
    """An event on `portal.events` or a command on `portal.commands`, as docs/asyncapi.yaml
    documents it: `fields` are the keys of its `data`, `nested` the keys of the objects in
    `data` whose shape is fixed too."""

    type: str
    kind: Literal["event", "command"]
    source: str  # the service that publishes (event) or handles (command) it
    subject: str  # what the envelope's subject names
    fields: tuple[str, ...]
    nested: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __str__(self) -> str:
        return self.type


def event(
    type_: str,
    source: str,
    subject: str,
    fields: tuple[str, ...],
    nested: Mapping[str, tuple[str, ...]] | None = None,
) -> Message:
    return Message(type_, "event", source, subject, fields, MappingProxyType(dict(nested or {})))


def command(
    type_: str,
    source: str,
    subject: str,
    fields: tuple[str, ...],
    nested: Mapping[str, tuple[str, ...]] | None = None,
) -> Message:
    return Message(type_, "command", source, subject, fields, MappingProxyType(dict(nested or {})))
