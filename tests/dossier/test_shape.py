"""The dossier and catalog services follow docs/service-skeleton.md (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.catalog.context import CatalogContext
from services.core.service import ServiceContext
from services.dossier.context import DossierContext

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["dossier", "catalog"])
@pytest.mark.parametrize("entry", ["worker", "manage"])
def test_the_worker_and_manage_never_load_the_web_app(service: str, entry: str) -> None:
    probe = (
        f"import sys, services.{service}.{entry}; "
        f"print(sorted(m for m in sys.modules if m in "
        f"('services.{service}.app', 'services.{service}.api')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_both_contexts_are_service_contexts() -> None:
    assert issubclass(DossierContext, ServiceContext)
    assert issubclass(CatalogContext, ServiceContext)


def test_dossier_routes_are_thin() -> None:
    api = (ROOT / "services" / "dossier" / "api.py").read_text(encoding="utf-8")
    assert len(api.splitlines()) < 250
    # Queries, uploads and body parsing live elsewhere.
    for forbidden in ("select(", "stream.read", "json.loads", "sessions()", "begin()"):
        assert forbidden not in api, forbidden


def test_the_upload_size_check_is_written_once() -> None:
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "services" / "dossier").glob("*.py")]
    assert sum(source.count("stream.read(") for source in sources) == 1


def test_problem_codes_live_in_the_problems_modules() -> None:
    for service in ("dossier", "catalog"):
        for path in (ROOT / "services" / service).glob("*.py"):
            if path.name != "problems.py":
                assert "register_messages" not in path.read_text(encoding="utf-8"), path
