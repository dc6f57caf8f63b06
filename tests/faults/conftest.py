"""The portal of tests/faults/test_workers.py; the broker-cut and database-outage modules
override it with their own (a broker behind a FaultProxy, databases on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.portal import PortalDeployment, running_portal
from tests.faults.load import LOAD_ENV

# Poison reaches the DLQ after one quick retry instead of the production backoff.
WORKERS_ENV = {**LOAD_ENV, "CONSUMER_RETRY_DELAYS": "0.2", "CONSUMER_DELIVERY_LIMIT": "2"}


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[PortalDeployment]:
    with running_portal(tmp_path_factory.mktemp("workers"), amqp_url, env=WORKERS_ENV) as p:
        yield p
