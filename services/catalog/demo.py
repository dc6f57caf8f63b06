"""The demo catalogue shipped in services/catalog/demo/, loaded idempotently.

A province deployment loads the national ministries, its own agencies and its own
catalogue; the national deployment loads every agency, the national catalogue and,
so that one machine (`make run`) shows a whole portal, the provinces' catalogues as
the union would hold them. Loading twice changes nothing and records no event.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from services.catalog.constants import NATIONAL
from services.catalog.models import Agency, Field, LifeEvent
from services.catalog.publishing import save

DEMO_DIR = Path(__file__).parent / "demo"


@dataclass
class DemoResult:
    """What a load changed: counts of reference rows and of procedure events."""

    references: int = 0
    events: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    level: str
    parent: str | None
    province: str
    kind: str | None


def _read(name: str) -> Any:
    with (DEMO_DIR / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def demo_agencies() -> list[DemoAgency]:
    """Every demo agency: the ministries, then each province's."""
    data = _read("agencies.yaml")
    rows = [
        DemoAgency(a["code"], a["name"], a["level"], a.get("parent"), NATIONAL, a.get("kind"))
        for a in data["national"]
    ]
    for province, spec in data["provinces"].items():
        rows.extend(
            DemoAgency(
                a["code"], a["name"], a["level"], a.get("parent"), str(province), a.get("kind")
            )
            for a in spec["agencies"]
        )
    return rows


def agencies_csv() -> str:
    """deploy/demo/agencies.csv: code,name,level,province (identity matches staff to it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name", "level", "province"])
    for agency in demo_agencies():
        writer.writerow([agency.code, agency.name, agency.level, agency.province])
    return out.getvalue()


def _upsert(session: Session, model: Any, key: str, values: dict[str, Any]) -> bool:
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
        return True
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _executing(selectors: list[str], agencies: list[DemoAgency], province: str) -> list[str]:
    codes: list[str] = []
    for selector in selectors:
        level, _, kind = selector.partition(":")
        codes.extend(
            a.code
            for a in agencies
            if a.province == province and a.level == level and (not kind or a.kind == kind)
        )
    if not codes:
        raise ValueError(f"no demo agency of province {province} matches {selectors}")
    return codes


def procedure_inputs(province: str, role: str) -> list[tuple[str, dict[str, Any]]]:
    """(catalogue province, admin input) for every demo procedure this deployment holds."""
    agencies = demo_agencies()
    forms = _read("forms.yaml")["forms"]
    provinces = sorted(_read("agencies.yaml")["provinces"])
    targets = [str(p) for p in provinces] if role == "national" else [province]
    result: list[tuple[str, dict[str, Any]]] = []
    for spec in _read("procedures.yaml")["procedures"]:
        data = {k: v for k, v in spec.items() if k not in ("scope", "executed_by")}
        data.setdefault("audience", ["citizen"])
        data["form"] = forms.get(spec["code"], {})
        if spec.get("scope") == "national":
            if role == "national":
                result.append((NATIONAL, data))
            continue
        for target in targets:
            chosen = _executing(spec["executed_by"], agencies, target)
            result.append((target, {**data, "agencies": chosen}))
    return result


def load_demo(session: Session, province: str, role: str) -> DemoResult:
    """Bring the demo catalogue into the database in the caller's transaction."""
    result = DemoResult()
    reference = _read("reference.yaml")
    for item in reference["fields"]:
        result.references += _upsert(session, Field, item["code"], dict(item))
    for item in reference["life_events"]:
        result.references += _upsert(session, LifeEvent, item["code"], dict(item))
    for agency in demo_agencies():
        if role != "national" and agency.province not in (NATIONAL, province):
            continue
        values = {
            "code": agency.code,
            "name": agency.name,
            "level": agency.level,
            "parent_code": agency.parent,
            "province": agency.province,
            "origin": agency.province if role == "national" else province,
        }
        result.references += _upsert(session, Agency, agency.code, values)
    session.flush()
    for target, data in procedure_inputs(province, role):
        event = save(session, data, target)
        if event is not None:
            result.events[event] = result.events.get(event, 0) + 1
    return result
