"""The gateway is the edge only: no import circle among its modules, and the web pages
live in a folder of their own that it serves (GATEWAY_WEB_DIR)."""

from __future__ import annotations

import ast
from pathlib import Path

from gateway.app import create_app
from gateway.config import DEFAULT_WEB_DIR, GatewaySettings

ROOT = Path(__file__).resolve().parents[2]


def gateway_imports() -> dict[str, set[str]]:
    """module -> the gateway modules it imports (anywhere in the file, TYPE_CHECKING too)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "gateway").glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gateway."):
                found.add(str(node.module).removeprefix("gateway."))
            elif isinstance(node, ast.Import):
                found.update(
                    a.name.removeprefix("gateway.")
                    for a in node.names
                    if a.name.startswith("gateway.")
                )
        graph[path.stem] = found
    return graph


def test_no_module_of_the_gateway_imports_its_way_back_to_itself() -> None:
    graph = gateway_imports()

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for name in graph.get(start, set()):
            if name == target:
                return True
            if name not in seen:
                seen.add(name)
                if reaches(name, target, seen):
                    return True
        return False

    circles = [module for module in graph if reaches(module, module, set())]
    assert circles == []


def test_the_web_pages_are_a_folder_of_their_own_served_from_a_configurable_path(
    tmp_path: Path,
) -> None:
    assert not (ROOT / "gateway" / "web").exists() and not (ROOT / "gateway" / "docs").exists()
    assert DEFAULT_WEB_DIR == ROOT / "web" and (DEFAULT_WEB_DIR / "index.html").exists()
    assert GatewaySettings.from_env({"GATEWAY_WEB_DIR": str(tmp_path)}).web_dir == tmp_path
    (tmp_path / "index.html").write_text("<p>other pages</p>", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("<p>docs</p>", encoding="utf-8")
    web = create_app(GatewaySettings(web_dir=tmp_path)).test_client()
    assert web.get("/").data == b"<p>other pages</p>"
    assert web.get("/api/docs").data == b"<p>docs</p>"
    assert web.get("/docs/index.html").status_code == 404  # only at /api/docs
    default = create_app(GatewaySettings()).test_client()
    assert b"<html" in default.get("/").data.lower()
    assert default.get("/api/docs").status_code == 200
