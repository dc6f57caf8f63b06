# mypy: disable-error-code="untyped-decorator"
"""HTTP routes of the catalog service: thin, schemas in and out."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from services.catalog import problems, publishing, queries
from services.catalog.context import CatalogContext
from services.catalog.schemas import (
    AgencyListSchema,
    AgencyQuerySchema,
    FieldListSchema,
    LifeEventListSchema,
    ProcedureInputSchema,
    ProcedureLookupSchema,
    ProcedurePageSchema,
    ProcedureQuerySchema,
    ProcedureSchema,
    ProcedureUpdateSchema,
    WithdrawnSchema,
)
from services.core.auth import TokenVerifier, require_auth
from services.core.problems import Problem, ValidationProblem
from services.core.service import current_context

blp = Blueprint("catalog", __name__, url_prefix="/api/catalog", description="Catalogue service")


def _context() -> CatalogContext:
    return current_context(CatalogContext)


def _verifier() -> TokenVerifier:
    return _context().verifier


def _reject_unknown(schema: type[Any]) -> None:
    unknown = sorted(set(request.args) - set(schema._declared_fields))
    if unknown:
        raise Problem(
            problems.UNKNOWN_FILTER,
            status=400,
            errors={name: ["unknown filter"] for name in unknown},
        )


@blp.route("/procedures", methods=["GET"])
@blp.arguments(ProcedureQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ProcedurePageSchema)
def list_procedures(**args: Any) -> dict[str, Any]:
    """Search procedures by words and filters ("khai sinh" finds "Đăng ký khai sinh")."""
    _reject_unknown(ProcedureQuerySchema)
    limits = _context().config
    if len(args["q"]) > limits.max_query_length:
        raise ValidationProblem(
            problems.QUERY_TOO_LONG, errors={"q": [f"at most {limits.max_query_length} chars"]}
        )
    per_page = min(args.pop("per_page", limits.default_per_page), limits.max_per_page)
    query = queries.ProcedureQuery(per_page=per_page, **args)
    with _context().read() as session:
        page = queries.search_procedures(session, query, max_words=limits.max_query_words)
    return {"items": page.items, "total": page.total, "page": page.page, "per_page": per_page}


@blp.route("/procedures/<code>", methods=["GET"])
@blp.arguments(ProcedureLookupSchema, location="query", as_kwargs=True)
@blp.response(200, ProcedureSchema)
def get_procedure(code: str, province: str | None = None) -> dict[str, Any]:
    """One procedure; `province` chooses among provinces' copies on the national portal."""
    _reject_unknown(ProcedureLookupSchema)
    with _context().read() as session:
        found = queries.find_procedure(session, code, province, _context().settings.province)
        return found.body


@blp.route("/procedures", methods=["POST"])
@require_auth(_verifier, "admin")
@blp.arguments(ProcedureInputSchema)
@blp.response(201, ProcedureSchema)
def publish_procedure(data: dict[str, Any]) -> dict[str, Any]:
    """Publish a procedure in this deployment's catalogue (role admin)."""
    with _context().transaction() as session:
        return publishing.publish(session, data, _context().settings.province)


@blp.route("/procedures/<code>", methods=["PUT"])
@require_auth(_verifier, "admin")
@blp.arguments(ProcedureUpdateSchema)
@blp.response(200, ProcedureSchema)
def update_procedure(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Replace a procedure; `expected_version` refuses a change made meanwhile."""
    if data.get("code", code) != code:
        raise ValidationProblem(problems.CODE_MISMATCH, errors={"code": ["differs from path"]})
    expected = data.pop("expected_version", None)
    with _context().transaction() as session:
        return publishing.update(session, code, data, _context().settings.province, expected)


@blp.route("/procedures/<code>", methods=["DELETE"])
@require_auth(_verifier, "admin")
@blp.response(200, WithdrawnSchema)
def withdraw_procedure(code: str) -> dict[str, Any]:
    """Withdraw a procedure from this deployment's catalogue (role admin)."""
    with _context().transaction() as session:
        return publishing.withdraw(session, code, _context().settings.province)


@blp.route("/agencies", methods=["GET"])
@blp.arguments(AgencyQuerySchema, location="query", as_kwargs=True)
@blp.response(200, AgencyListSchema)
def list_agencies(
    province: str | None = None, level: str | None = None, parent: str | None = None
) -> dict[str, Any]:
    """Executing agencies: ministries, provinces, departments, districts, communes."""
    _reject_unknown(AgencyQuerySchema)
    with _context().read() as session:
        items = queries.list_agencies(session, province, level, parent)
    return {"items": items, "total": len(items)}


@blp.route("/fields", methods=["GET"])
@blp.response(200, FieldListSchema)
def list_fields() -> dict[str, Any]:
    """Fields (lĩnh vực)."""
    with _context().read() as session:
        items = queries.list_fields(session)
    return {"items": items, "total": len(items)}


@blp.route("/life-events", methods=["GET"])
@blp.response(200, LifeEventListSchema)
def list_life_events() -> dict[str, Any]:
    """Life events (sự kiện) of citizens and businesses."""
    with _context().read() as session:
        items = queries.list_life_events(session)
    return {"items": items, "total": len(items)}
