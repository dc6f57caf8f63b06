"""The published contract: every event the code publishes is documented for integrators."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.bus import Envelope

ROOT = Path(__file__).resolve().parents[1]
ASYNCAPI = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
CONTRACT_EVENTS = {
    "identity.account.registered",
    "identity.phone.changed",
    "catalog.procedure.published",
    "catalog.procedure.updated",
    "catalog.procedure.withdrawn",
    "dossier.submitted",
    "dossier.received",
    "dossier.supplement_requested",
    "dossier.resubmitted",
    "dossier.result_returned",
    "dossier.rejected",
    "dossier.rated",
    "notify.notification.delivered",
    "notify.notification.failed",
}
# A string literal shaped like a message type of one of the services.
TYPE_LITERAL = re.compile(r"\"((?:identity|catalog|dossier|notify)\.[a-z_]+(?:\.[a-z_]+)+)\"")
NOT_TYPES = {"dossier.id"}


def documented() -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in ASYNCAPI["components"]["messages"].values()}


def types_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        found.update(TYPE_LITERAL.findall(path.read_text(encoding="utf-8")))
    return found - NOT_TYPES


def test_every_event_of_the_contract_is_documented() -> None:
    assert set(documented()) >= CONTRACT_EVENTS


def test_every_message_type_in_the_code_is_documented() -> None:
    missing = types_in_code() - set(documented())
    assert not missing, f"document these in docs/asyncapi.yaml: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(documented()))
def test_each_example_is_a_valid_envelope_without_personal_data(name: str) -> None:
    message = documented()[name]
    example = message["examples"][0]["payload"]
    envelope = Envelope.from_body(json.dumps(example).encode())
    assert envelope.type == name
    channel = ASYNCAPI["channels"][name]["bindings"]["amqp"]["exchange"]["name"]
    if channel == "portal.events":
        text = json.dumps(example["data"], ensure_ascii=False)
        assert not re.search(r"\+84\d{9}|\b0\d{9}\b", text), "a full phone number"
        assert not re.search(r"[\w.]+@[\w.]+\.\w+", text), "an e-mail address"
        assert not re.search(r"\b\d{12}\b", text), "a citizen ID"
