"""The broker definitions in deploy/federation/ are what the generator writes."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.federation.shovels import national_definitions, province_definitions

FEDERATION = Path(__file__).resolve().parents[1] / "deploy" / "federation"


def test_province_definitions_file_is_current() -> None:
    written = json.loads((FEDERATION / "province.definitions.json").read_text())
    assert written == province_definitions()
    bound = {
        b["routing_key"] for b in written["bindings"] if b["destination"] == "federation.catalog"
    }
    assert bound == {
        "catalog.procedure.published",
        "catalog.procedure.updated",
        "catalog.procedure.withdrawn",
    }


def test_national_definitions_shovel_every_registered_province() -> None:
    written = json.loads((FEDERATION / "national.definitions.json").read_text())
    sources = {p["name"]: p["value"]["src-uri"] for p in written["parameters"]}
    assert set(sources) == {"catalog-from-38", "catalog-from-42"}
    regenerated = national_definitions(
        {"38": sources["catalog-from-38"], "42": sources["catalog-from-42"]}
    )
    assert written == regenerated
    for parameter in written["parameters"]:
        assert parameter["value"]["ack-mode"] == "on-confirm"
        assert parameter["value"]["dest-exchange"] == "portal.events"
