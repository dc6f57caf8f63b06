"""One OpenAPI document for the whole portal, merged from every service's own.

Schema names are prefixed with the service (`dossiers.Dossier`) so two services may
use the same name; every `$ref` is rewritten to match. The merge is cached briefly;
a service that does not answer is listed under `x-unavailable` instead of failing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from gateway.proxy import Upstream
from services.core.problems import Problem

_REF = "#/components/schemas/"


def _rename_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                f"{_REF}{prefix}.{value[len(_REF) :]}"
                if key == "$ref" and isinstance(value, str) and value.startswith(_REF)
                else _rename_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def merge_documents(documents: Mapping[str, Mapping[str, Any]], version: str) -> dict[str, Any]:
    """The union of the services' documents (service name -> its OpenAPI document)."""
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Cổng Dịch vụ công - API",
            "version": version,
            "description": "Every service of the portal, as seen through its gateway.",
        },
        "paths": {},
        "components": {"schemas": {}, "responses": {}, "parameters": {}},
        "tags": [],
    }
    for service, document in documents.items():
        document = _rename_refs(document, service)
        merged["paths"].update(document.get("paths", {}))
        components = document.get("components", {})
        for kind in ("schemas", "responses", "parameters"):
            for name, value in components.get(kind, {}).items():
                target = f"{service}.{name}" if kind == "schemas" else name
                merged["components"][kind].setdefault(target, value)
        for kind, value in components.get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {})[kind] = value
        for tag in document.get("tags", []):
            if tag not in merged["tags"]:
                merged["tags"].append(tag)
    return merged


class OpenApiAggregate:
    """Fetches `/api/<service>/openapi.json` from each upstream, merges, caches."""

    def __init__(self, upstreams: Mapping[str, Upstream], ttl: float = 60.0) -> None:
        self.upstreams = upstreams
        self.ttl = ttl
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._built_at = 0.0

    def _fetch(self, service: str, upstream: Upstream) -> dict[str, Any] | None:
        try:
            response = upstream.request("GET", f"/api/{service}/openapi.json", {})
        except Problem:
            return None
        try:
            if response.status != 200:
                return None
            document: dict[str, Any] = json.loads(response.read(decode_content=True))
            return document
        except ValueError:
            return None
        finally:
            response.release_conn()

    def document(self) -> dict[str, Any]:
        with self._lock:
            if self._document is not None and time.monotonic() - self._built_at < self.ttl:
                return self._document
            documents: dict[str, dict[str, Any]] = {}
            missing = []
            for service, upstream in self.upstreams.items():
                fetched = self._fetch(service, upstream)
                if fetched is None:
                    missing.append(service)
                else:
                    documents[service] = fetched
            merged = merge_documents(documents, version="1")
            if missing:
                merged["x-unavailable"] = missing
            else:  # a partial document is not cached: the next call tries again
                self._document = merged
                self._built_at = time.monotonic()
            return merged
