"""The contracts package against docs/asyncapi.yaml: the same messages, the same data."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.contracts import MESSAGES, Message, catalog, dossier, identity, notify

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
EXCHANGE = {"event": "portal.events", "command": "portal.commands"}
TYPE_LITERAL = re.compile(r"\"((?:identity|catalog|dossier|notify)\.[a-z_]+(?:\.[a-z_]+)+)\"")
NOT_TYPES = {"dossier.id"}


def documented() -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in ASYNCAPI["components"]["messages"].values()}


def example(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = documented()[name]["examples"][0]["payload"]
    return payload


def test_every_documented_message_is_in_the_contracts_and_back() -> None:
    assert set(MESSAGES) == set(documented())


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_each_message_has_the_documented_exchange_and_data(name: str) -> None:
    message = MESSAGES[name]
    channel = ASYNCAPI["channels"][name]["bindings"]["amqp"]["exchange"]["name"]
    assert channel == EXCHANGE[message.kind]
    data = example(name)["data"]
    assert sorted(data) == sorted(message.fields)
    assert len(set(message.fields)) == len(message.fields)
    for key, fields in message.nested.items():
        assert sorted(data[key]) == sorted(fields), key
    if message.kind == "event":
        assert example(name)["source"] == message.source


def test_the_services_modules_hold_their_own_messages() -> None:
    modules = {"identity": identity, "catalog": catalog, "dossier": dossier, "notify": notify}
    for service, module in modules.items():
        messages: tuple[Message, ...] = module.MESSAGES
        assert {m.source for m in messages} == {service}
        assert all(m.type.startswith(f"{service}.") for m in messages)
    assert set(catalog.PROCEDURE_EVENTS) == {
        m.type for m in catalog.MESSAGES if m.type.startswith("catalog.procedure.")
    }
    assert set(identity.PUBLISHED_EVENTS) == {m.type for m in identity.MESSAGES}
    assert {str(e) for e in dossier.Event} == {m.type for m in dossier.MESSAGES}


def test_every_message_type_written_in_the_services_is_in_the_contracts() -> None:
    found: set[str] = set()
    for path in (ROOT / "services").rglob("*.py"):
        found.update(TYPE_LITERAL.findall(path.read_text(encoding="utf-8")))
    assert found - NOT_TYPES - set(MESSAGES) == set()


def test_the_notify_send_example_personalises_its_template_with_the_documented_keys() -> None:
    data = example(notify.NOTIFY_SEND)["data"]
    template = notify.Template(data["template"])
    assert sorted(data["personalisation"]) == sorted(notify.PERSONALISATION[template])
    assert {str(c) for c in data["channels"]} <= {str(c) for c in notify.Channel}
    assert set(notify.PERSONALISATION) == set(notify.Template)


def test_every_template_has_its_files_and_reads_only_its_keys() -> None:
    folder = ROOT / "services" / "notify" / "template_files"
    assert {p.name for p in folder.iterdir() if p.is_dir()} == {str(t) for t in notify.Template}
    for template, keys in notify.PERSONALISATION.items():
        text = "".join(p.read_text(encoding="utf-8") for p in (folder / template).iterdir())
        used = set(re.findall(r"\{([a-z_]+)\}", text)) - {"next_step"}  # derived by notify
        assert used == set(keys), template


SHIM_MARK = "# transitional re-export: removed once services import services.core.bus / contracts"


def test_the_bus_knows_no_service_s_messages() -> None:
    """Transport only: no bus module but the marked re-exports names a contract."""
    for path in (ROOT / "services" / "core" / "bus").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if SHIM_MARK in text and path.name in {"commands.py", "testing.py"}:
            continue
        imported = {
            node.module
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not any(m.startswith("services.core.contracts") for m in imported), path.name
        assert not TYPE_LITERAL.search(text), path.name
        assert "otp_" not in text, path.name


def test_the_bus_has_one_public_surface() -> None:
    import services.core.bus as bus

    assert len(bus.__all__) == len(set(bus.__all__))
    for name in bus.__all__:
        assert getattr(bus, name) is not None, name
    assert {"Consumer", "OutboxRelay", "RelayProcess", "Worker", "record_event"} <= set(bus.__all__)
