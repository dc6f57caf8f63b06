"""The first gateway: pages at /, services behind /api/<service>."""

from __future__ import annotations

from gateway.app import create_app
from gateway.config import GatewaySettings


def test_index_page_is_served() -> None:
    client = create_app(GatewaySettings()).test_client()
    response = client.get("/")
    assert response.status_code == 200
    assert "Cổng Dịch vụ công" in response.get_data(as_text=True)


def test_unknown_service_is_a_problem() -> None:
    client = create_app(GatewaySettings()).test_client()
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_down_upstream_is_502(free_port: int) -> None:
    settings = GatewaySettings(upstreams={"catalog": f"http://127.0.0.1:{free_port}"})
    response = create_app(settings).test_client().get("/api/catalog/procedures")
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json["code"] == "upstream_unavailable"
