"""One assembled portal for the package's tests (shared when they run on one xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.portal import PortalDeployment, running_portal

MB = 1024 * 1024
ENV = {
    # Small upload limits so oversize bodies are cheap to send.
    "DOSSIER_MAX_FILE_BYTES": str(MB),
    "DOSSIER_MAX_DOSSIER_BYTES": str(2 * MB),
    # Long generated URLs would meet gunicorn's own HTML 414 before the app; the gateway
    # bounds URLs in production, so here the request line is unbounded and the app answers.
    "GUNICORN_CMD_ARGS": "--limit-request-line 0",
}


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[PortalDeployment]:
    with running_portal(tmp_path_factory.mktemp("security"), amqp_url, env=ENV) as deployment:
        yield deployment
