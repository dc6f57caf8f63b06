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


# --- The one skeleton every service follows (docs/service-skeleton.md) -------------------

SKELETON = (
    "__init__.py",
    "app.py",
    "api.py",
    "config.py",
    "context.py",
    "events.py",
    "manage.py",
    "models.py",
    "problems.py",
    "schemas.py",
    "worker.py",
)

# What deploy/ and bench/ may import of a service: its entry points, never its internals.
PUBLIC_MODULES = ("", ".app", ".context", ".config", ".manage", ".worker")
# White-box benchmarks measure one inner function in process; each names exactly that.
MEASURED = {
    # the search query at 100k procedures, on rows the benchmark writes itself
    "bench/catalog.py": {
        "services.catalog.folding",
        "services.catalog.models",
        "services.catalog.queries",
    },
    # the procedure read copy, seeded as the catalog consumer would seed it
    "bench/dossier.py": {"services.dossier.catalog"},
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_skeleton(service: str) -> None:
    folder = ROOT / "services" / service
    missing = [name for name in SKELETON if not (folder / name).is_file()]
    assert missing == [], f"services/{service} lacks {missing}"
    assert (folder / "migrations" / "env.py").is_file()


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_context_is_built_by_build_context(service: str) -> None:
    tree = ast.parse((ROOT / "services" / service / "context.py").read_text(encoding="utf-8"))
    classes = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "ServiceContext" for b in node.bases)
    ]
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert len(classes) == 1, f"services/{service}/context.py: one ServiceContext subclass"
    assert "build_context" in functions


@pytest.mark.parametrize("service", SERVICES)
def test_app_worker_and_manage_use_build_context(service: str) -> None:
    for entry in ("app.py", "worker.py", "manage.py"):
        text = (ROOT / "services" / service / entry).read_text(encoding="utf-8")
        assert "build_context" in text, f"services/{service}/{entry} does not use build_context"


@pytest.mark.parametrize("service", SERVICES)
def test_the_worker_never_loads_the_web_app(service: str) -> None:
    modules = imported_modules(ROOT / "services" / service / "worker.py")
    assert f"services.{service}.app" not in modules
    assert "flask" not in modules


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, type-checking imports included: a circle
    of types is a circle of design too."""
    files = [
        p
        for top in ("services", "gateway", "deploy", "bench")
        for p in python_files(ROOT / top)
        if "migrations" not in p.parts
    ]
    known = {_module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    if sub in known:
                        targets.add(sub)
                    elif node.module in known:
                        targets.add(node.module)
        name = _module_name(path)
        graph[name] = targets - {name}
    return graph


def test_there_is_no_import_circle() -> None:
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("top", ["deploy", "bench"])
def test_deploy_and_bench_use_only_public_parts_of_a_service(top: str) -> None:
    public = {f"services.{s}{suffix}" for s in SERVICES for suffix in PUBLIC_MODULES}
    offenders = []
    for path in python_files(ROOT / top):
        allowed = public | MEASURED.get(str(path.relative_to(ROOT)), set())
        for module in imported_modules(path):
            if module.startswith("tests"):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
            for service in SERVICES:
                prefix = f"services.{service}"
                if (module == prefix or module.startswith(prefix + ".")) and module not in allowed:
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []
