"""schemathesis against each service's own OpenAPI on an assembled portal.

Bounded and reproducible (few examples per operation, a fixed seed, deterministic
generation): zero server errors and zero responses that break their documented
status, content type or schema. Run directly against the services, with a citizen's
token so the guarded operations are reached too.

A second, negative phase sends only what the documents forbid (bodies of the wrong
type, missing or malformed fields, parameters out of their ranges or formats): every
answer must be a refusal, never a server error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.journey import PortalClient, subscribers
from harness.portal import GATEWAY_PREFIX, SERVICES, PortalDeployment

pytestmark = [pytest.mark.timeout(300)]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
NEGATIVE_MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_NEGATIVE_MAX_EXAMPLES", "10"))
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


@pytest.fixture(scope="module")
def token(portal: PortalDeployment) -> str:
    client = PortalClient(portal.gateway_url)
    person = subscribers()[4]
    client.register(person)
    return str(client.login(person.citizen_id, person.phone)["access_token"])


def schemathesis(
    portal: PortalDeployment, token: str, service: str, tmp_path: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """One bounded schemathesis run against `service`'s own OpenAPI document."""
    base = portal.service_url(service)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base}/api/{GATEWAY_PREFIX[service]}/openapi.json",
        "--url",
        base,
        *options,
        "--seed",
        "20261130",
        "--generation-deterministic",
        # One worker: two threads parsing lambdas in hypothesis crashed CPython 3.11's ast.
        "--workers",
        "1",
        "--max-time",
        os.environ.get("SCHEMATHESIS_MAX_TIME", "20"),
        "--request-timeout",
        "10",
        "--no-color",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    # Its working directory takes schemathesis's own cache (.schemathesis/).
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
    )
    summary = [line for line in result.stdout.splitlines() if line.strip()][-15:]
    print(f"schemathesis {service} {' '.join(options)}:", *summary, sep="\n  ")
    return result


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_keeps_its_openapi_promises(
    portal: PortalDeployment, token: str, service: str, tmp_path: Path
) -> None:
    result = schemathesis(
        portal,
        token,
        service,
        tmp_path,
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.parametrize("service", SERVICES)
def test_malformed_bodies_and_parameters_never_make_a_server_error(
    portal: PortalDeployment, token: str, service: str, tmp_path: Path
) -> None:
    result = schemathesis(
        portal,
        token,
        service,
        tmp_path,
        "--mode",
        "negative",
        "--checks",
        "not_a_server_error",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(NEGATIVE_MAX_EXAMPLES),
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
