"""What the edge shows an attacker probing paths: never a service's own address."""

from __future__ import annotations

import pytest
import requests

from harness.portal import SERVICES, PortalDeployment

PROBES = [
    "/api/catalog//procedures",
    "/api/catalog/procedures/",
    "/api/catalog//procedures/",
    "/api/dossiers//stats",
    "/api/identity//.well-known/jwks.json",
    "/api/notify//healthz",
]


@pytest.mark.parametrize("path", PROBES)
def test_no_answer_names_an_upstream_address(portal: PortalDeployment, path: str) -> None:
    answer = requests.get(f"{portal.gateway_url}{path}", timeout=10, allow_redirects=False)
    upstreams = [portal.service_url(s).removeprefix("http://") for s in SERVICES]
    shown = " ".join(f"{k}: {v}" for k, v in answer.headers.items()) + answer.text
    assert not [u for u in upstreams if u in shown], (answer.status_code, answer.headers)
    assert answer.status_code < 500
    if answer.is_redirect:
        assert answer.headers["Location"].startswith("/")
    if "//" in path:
        assert answer.status_code != 308  # one spelling: the double slash is one slash
