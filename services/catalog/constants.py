"""Names the catalog service uses in one place: levels and values (event types are
contracts: services/core/contracts/catalog.py)."""

from __future__ import annotations

# Agency levels, top to bottom (GLOSSARY: Bộ / UBND tỉnh / Sở / UBND huyện / UBND xã).
LEVEL_MINISTRY = "ministry"
LEVEL_PROVINCE = "province"
LEVEL_DEPARTMENT = "department"
LEVEL_DISTRICT = "district"
LEVEL_COMMUNE = "commune"
AGENCY_LEVELS = (LEVEL_MINISTRY, LEVEL_PROVINCE, LEVEL_DEPARTMENT, LEVEL_DISTRICT, LEVEL_COMMUNE)

SERVICE_LEVELS = ("full", "partial")
AUDIENCES = ("citizen", "business")
DELIVERY_METHODS = ("online", "counter", "post")

NATIONAL = ""  # the province code of the national catalogue
