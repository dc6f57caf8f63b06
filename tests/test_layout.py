"""The architecture's boundaries, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(
    p.name
    for p in (ROOT / "services").iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if ".venv" not in p.parts]


def test_there_are_the_four_services() -> None:
    assert {"identity", "catalog", "dossier", "notify"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_never_imports_another_service(service: str) -> None:
    others = {f"services.{name}" for name in SERVICES if name != service} | {"gateway"}
    for path in python_files(ROOT / "services" / service):
        for module in imported_modules(path):
            assert not any(module == o or module.startswith(o + ".") for o in others), (
                f"{path.relative_to(ROOT)} imports {module}"
            )


def test_the_shared_package_never_imports_a_service() -> None:
    forbidden = {f"services.{name}" for name in SERVICES} | {"gateway"}
    for path in python_files(ROOT / "services" / "core"):
        for module in imported_modules(path):
            assert not any(module == f or module.startswith(f + ".") for f in forbidden), (
                f"{path.relative_to(ROOT)} imports {module}"
            )


def test_configuration_is_read_in_one_place() -> None:
    """Nothing reads os.environ deep inside the code: only config modules and entry points."""
    allowed = {"config.py", "devrun.py"}
    offenders = []
    for path in python_files(ROOT / "services"):
        if path.name in allowed:
            continue
        if "os.environ" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
