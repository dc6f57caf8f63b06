"""Names the catalog service uses in one place: levels, event types, values."""

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

PROCEDURE_PUBLISHED = "catalog.procedure.published"
PROCEDURE_UPDATED = "catalog.procedure.updated"
PROCEDURE_WITHDRAWN = "catalog.procedure.withdrawn"
PROCEDURE_EVENTS = (PROCEDURE_PUBLISHED, PROCEDURE_UPDATED, PROCEDURE_WITHDRAWN)
PROCEDURE_EVENT_PATTERN = "catalog.procedure.*"

NATIONAL = ""  # the province code of the national catalogue
