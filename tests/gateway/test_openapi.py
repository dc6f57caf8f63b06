"""One OpenAPI document for the portal, and a page to browse it with no outside assets."""

from __future__ import annotations

import re
from typing import Any

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.openapi import merge_documents
from tests.gateway.conftest import EchoService, serve
from tests.support.tokens import TokenFactory


def document(prefix: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": prefix, "version": "1"},
        "paths": {
            f"/api/{prefix}/things": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            },
                        }
                    }
                }
            }
        },
        "components": {"schemas": {"Thing": {"type": "object"}}},
        "tags": [{"name": prefix}],
    }


def test_documents_merge_with_service_prefixed_schemas() -> None:
    merged = merge_documents(
        {"catalog": document("catalog"), "dossiers": document("dossiers")}, "1"
    )
    assert set(merged["paths"]) == {"/api/catalog/things", "/api/dossiers/things"}
    assert set(merged["components"]["schemas"]) == {"catalog.Thing", "dossiers.Thing"}
    ref = merged["paths"]["/api/dossiers/things"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert ref == "#/components/schemas/dossiers.Thing"


def test_gateway_serves_the_merged_document_and_its_browser() -> None:
    services = {name: EchoService(openapi=document(name)) for name in ("catalog", "notify")}
    servers = {name: serve(service) for name, service in services.items()}
    try:
        settings = GatewaySettings(upstreams={n: s.url for n, s in servers.items()})
        client = create_app(settings, verifier=TokenFactory().verifier()).test_client()
        merged = client.get("/api/openapi.json").json
        assert set(merged["paths"]) == {"/api/catalog/things", "/api/notify/things"}
        assert "x-unavailable" not in merged
        page = client.get("/api/docs").get_data(as_text=True)
        script = client.get("/api/docs/docs.js").get_data(as_text=True)
        for text in (page, script):
            assert not re.search(r"(src|href)=\"https?://", text)
            assert "cdn" not in text.lower()
        assert "/api/openapi.json" in script
    finally:
        for served in servers.values():
            served.server.shutdown()
