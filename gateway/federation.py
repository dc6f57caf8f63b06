"""The registry of provincial portals and what the national gateway does with it:
list them, hand a citizen over to one, and route a dossier lookup by its code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from services.core.config import ConfigError

# Dossier code (Circular 01/2018): <agency code>-<YYMMDD>-<NNNN>; the agency code's last
# part is its level-1 unit: G.. a ministry, H.. a province (Decision 20/2020/QĐ-TTg).
_DOSSIER_CODE = re.compile(r"^(?P<agency>[0-9A-Za-z.]+\.(?P<unit>[A-Z]\d{2}))-\d{6}-\d{1,6}$")


@dataclass(frozen=True)
class Province:
    """One provincial portal: its two-digit code, name, agency unit and gateway URL."""

    code: str
    name: str
    agency_unit: str
    base_url: str

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name": self.name,
            "agency_unit": self.agency_unit,
            "base_url": self.base_url,
        }


@dataclass(frozen=True)
class ProvinceRegistry:
    provinces: tuple[Province, ...]

    @classmethod
    def load(cls, path: Path) -> ProvinceRegistry:
        """Read deploy/federation/provinces.yaml (or the file GATEWAY_PROVINCES_FILE names)."""
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read the province registry {path}: {exc}") from exc
        provinces = []
        for entry in data.get("provinces", []):
            code = str(entry.get("code", ""))
            if not (len(code) == 2 and code.isdigit()):
                raise ConfigError(f"{path}: province code must be two digits, got {code!r}")
            provinces.append(
                Province(
                    code=code,
                    name=str(entry["name"]),
                    agency_unit=str(entry["agency_unit"]),
                    base_url=str(entry["base_url"]).rstrip("/"),
                )
            )
        return cls(tuple(provinces))

    def by_code(self, code: str) -> Province | None:
        return next((p for p in self.provinces if p.code == code), None)

    def by_agency_unit(self, unit: str) -> Province | None:
        return next((p for p in self.provinces if p.agency_unit == unit), None)


def dossier_unit(code: str) -> str | None:
    """The level-1 unit (H56, G06...) of a dossier code's agency, None when malformed."""
    found = _DOSSIER_CODE.match(code.strip())
    return found.group("unit") if found else None


def handover_url(province: Province, path: str, query: str) -> str:
    """Where /go/<province>/<path> sends the citizen: always on the province's own host."""
    target = f"{province.base_url}/{path.lstrip('/')}"
    return f"{target}?{query}" if query else target


NATIONAL_PORTAL_NAME = "Cổng Dịch vụ công Quốc gia"


def portal_name(role: str, province: str, registry: ProvinceRegistry) -> str:
    """What the pages call this portal: the national one or the province's own."""
    if role == "national":
        return NATIONAL_PORTAL_NAME
    known = registry.by_code(province)
    if known is None:
        return f"Cổng Dịch vụ công (tỉnh {province})"
    return f"Cổng Dịch vụ công tỉnh {known.name}"
