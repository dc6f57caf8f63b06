"""flask-smorest's Blueprint with typed decorators (the library ships no type hints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class TypedBlueprint(Blueprint):  # type: ignore[misc]
    """Same behaviour; the decorators keep the decorated function's type."""

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return super().get(rule, **options)  # type: ignore[no-any-return]

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return super().post(rule, **options)  # type: ignore[no-any-return]

    def arguments(self, schema: Any, **options: Any) -> Callable[[F], F]:
        return super().arguments(schema, **options)  # type: ignore[no-any-return]

    def response(self, status_code: int, schema: Any = None, **options: Any) -> Callable[[F], F]:
        return super().response(status_code, schema, **options)  # type: ignore[no-any-return]
