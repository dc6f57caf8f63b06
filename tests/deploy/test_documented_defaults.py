"""Every default README.md's variable tables and docs/operations.md give is the code's.

A documented default is the code's when setting the variable to it changes no setting of
any process (the typed settings every process reads once at start). A variable no settings
object reads (a test's or a benchmark's) must at least be read, with that default, in a
Python file of the project.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewaySettings
from services.catalog.config import CatalogSettings
from services.core.config import BusSettings, ServiceSettings
from services.dossier.config import DossierSettings
from services.identity.config import IdentityConfig, PasswordSettings
from services.notify.config import NotifySettings

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "operations.md")
SERVICES = ("identity", "catalog", "dossier", "notify")
VARIABLE = re.compile(r"^`([A-Z][A-Z0-9_]*)`$")
# "`BUS_RECONNECT_MAX_BACKOFF` (5 s)" in the runbooks' prose.
PROSE = re.compile(r"`([A-Z][A-Z0-9_]*)`\s*\((\d+(?:\.\d+)?)(?: s)?\)")
UNITS = {"KiB": 1024, "MiB": 1024 * 1024}


def _process_settings(service: str, env: Mapping[str, str]) -> ServiceSettings:
    return ServiceSettings.from_env(service, env)


def _gunicorn_niceness() -> Callable[[Mapping[str, str]], Any]:
    namespace: dict[str, Any] = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return namespace["web_niceness"]  # type: ignore[no-any-return]


# Variables a loader reads only as a fallback of its own setting (the gateway's JWKS is
# GATEWAY_JWKS_URL, else IDENTITY_JWKS_URL, else its identity upstream's): setting them to
# the services' default changes which one it names, not the URL it fetches.
FALLBACKS = {("IDENTITY_JWKS_URL", "gateway")}
LOADERS: dict[str, Callable[[Mapping[str, str]], Any]] = {
    "bus": BusSettings.from_env,
    **{f"{service} process": partial(_process_settings, service) for service in SERVICES},
    "identity": IdentityConfig.from_env,
    "passwords": PasswordSettings.from_env,
    "catalog": CatalogSettings.from_env,
    "dossier": DossierSettings.from_env,
    "notify": NotifySettings.from_env,
    "gateway": GatewaySettings.from_env,
    "gunicorn": _gunicorn_niceness(),
}


def documented_value(cell: str) -> str | None:
    """The literal a default cell gives, or None when it gives none (a reference, prose)."""
    cell = cell.strip()
    if cell.startswith("`"):
        literal, _, rest = cell[1:].partition("`")
        if VARIABLE.match(f"`{literal}`") or not re.match(r"^(\s*\(.*|\s+s\b.*|,\s.*)?$", rest):
            return None
        return "" if literal == '""' else literal
    if cell == "empty" or cell.startswith("empty ("):
        return ""
    unit = re.match(r"^(\d+) (KiB|MiB)$", cell)
    if unit:
        return str(int(unit.group(1)) * UNITS[unit.group(2)])
    number = re.match(r"^(\d+(?:\.\d+)?)(?: s)?(?: \(.*\))?$", cell)
    return number.group(1) if number else None


def normalised(value: str) -> str:
    """A path the tables give relative to the project, as the code resolves it."""
    if value.startswith("sqlite:///var/"):
        return f"sqlite:///{ROOT / value.removeprefix('sqlite:///')}"
    if value.startswith(("var/", "services/")):
        return str(ROOT / value)
    return value


def documented_defaults() -> Iterator[tuple[str, str, str]]:
    """(document, variable, default) of every table row and runbook mention."""
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for line in text.splitlines():
            if not line.startswith("| "):
                continue
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            for i, cell in enumerate(cells[:-1]):
                found = VARIABLE.match(cell)
                if found:
                    value = documented_value(cells[i + 1])
                    if value is not None:
                        yield document.name, found.group(1), normalised(value)
                    break
        for name, value in PROSE.findall(text):
            yield document.name, name, value


def _outcome(loader: Callable[[Mapping[str, str]], Any], env: Mapping[str, str]) -> Any:
    try:
        return loader(env)
    except ValueError as exc:  # ConfigError included: the value was read and refused
        return ("refused", str(exc))


@cache
def _unset() -> dict[str, Any]:
    return {name: _outcome(loader, {}) for name, loader in LOADERS.items()}


def other_value(value: str) -> str:
    """A value unlike `value`, to find out which settings read a variable."""
    if re.fullmatch(r"\d+", value):
        return str(int(value) + 7)
    if re.fullmatch(r"\d+\.\d+", value):
        return str(float(value) * 2 + 1)
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    return f"{value}9" if value else "9"


def readers(name: str, value: str) -> list[str]:
    changed = {
        name_: _outcome(loader, {name: other_value(value)}) for name_, loader in LOADERS.items()
    }
    return [loader for loader, outcome in changed.items() if outcome != _unset()[loader]]


def spellings(value: str) -> list[str]:
    """How code may write a default: as is, or a project path as `ROOT / "var" / "x"`."""
    if not value.startswith(str(ROOT)):
        return [f'"{value}"', *([value] if re.fullmatch(r"[\d.]+", value) else [])]
    parts = Path(value).relative_to(ROOT).parts
    return [f'"{"/".join(parts)}"', " / ".join(f'"{part}"' for part in parts)]


# Where else a variable is read: the Makefile, the CI script, compose, shell scripts.
OTHER_READERS = ("Makefile", ".ci/run", "Procfile", "deploy/*.yaml", "deploy/**/*.sh")


def read_elsewhere(name: str, value: str) -> bool:
    """Some file of the project reads `name` and names `value` as its default."""
    for folder in ("services", "gateway", "deploy", "harness", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if f'"{name}"' in text and any(
                re.search(rf"(?<![\w.]){re.escape(spelling)}(?![\w.])", text)
                for spelling in spellings(value)
            ):
                return True
    for pattern in OTHER_READERS:
        for path in ROOT.glob(pattern):
            text = path.read_text(encoding="utf-8")
            if re.search(rf"\b{name}\b", text) and value and value in text:
                return True
    return False


ROWS = sorted(set(documented_defaults()))


def test_the_documents_give_many_defaults() -> None:
    names = {name for _, name, _ in ROWS}
    assert len(names) > 100
    assert "BUS_RECONNECT_MAX_BACKOFF" in names


@pytest.mark.parametrize(("document", "name", "value"), ROWS)
def test_a_documented_default_is_the_code_s(document: str, name: str, value: str) -> None:
    reading = readers(name, value)
    if not reading:
        assert read_elsewhere(name, value), f"{document}: nothing reads {name} with {value!r}"
        return
    for loader in reading:
        if (name, loader) in FALLBACKS:
            continue
        documented = _outcome(LOADERS[loader], {name: value})
        assert documented == _unset()[loader], (
            f"{document} says {name} defaults to {value!r}; {loader}'s default differs"
        )
