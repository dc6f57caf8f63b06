"""RFC 9457 problem details: one error type hierarchy for every service.

A problem has a stable machine `code`; its human title is looked up by code in the
language the client asked for (Vietnamese by default, English on request).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Request, Response, current_app, json, request

PROBLEM_JSON = "application/problem+json"

# code -> (Vietnamese, English). Services add their own with register_messages().
MESSAGES: dict[str, tuple[str, str]] = {
    "validation_error": ("Dữ liệu không hợp lệ.", "The request is not valid."),
    "bad_request": ("Yêu cầu không hợp lệ.", "The request could not be understood."),
    "unauthorized": ("Bạn cần đăng nhập.", "Authentication is required."),
    "invalid_token": (
        "Phiên đăng nhập không hợp lệ hoặc đã hết hạn.",
        "The token is invalid or expired.",
    ),
    "forbidden": ("Bạn không có quyền thực hiện thao tác này.", "You may not do this."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "method_not_allowed": ("Phương thức không được hỗ trợ.", "Method not allowed."),
    "conflict": ("Xung đột dữ liệu.", "Conflict."),
    "payload_too_large": ("Dữ liệu gửi lên quá lớn.", "The request body is too large."),
    "unsupported_media_type": (
        "Định dạng dữ liệu không được hỗ trợ.",
        "Unsupported media type.",
    ),
    "rate_limited": (
        "Bạn đã thao tác quá nhiều lần. Vui lòng thử lại sau.",
        "Too many requests. Try again later.",
    ),
    "service_unavailable": (
        "Hệ thống đang bận, vui lòng thử lại sau.",
        "The service is temporarily unavailable.",
    ),
    "database_unavailable": (
        "Hệ thống tạm thời không truy cập được dữ liệu. Vui lòng thử lại sau ít giây.",
        "The database is unavailable. Try again in a few seconds.",
    ),
    "internal_error": (
        "Đã có lỗi xảy ra. Vui lòng thử lại sau.",
        "An unexpected error occurred.",
    ),
}

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def register_messages(messages: Mapping[str, tuple[str, str]]) -> None:
    """Add a service's problem codes and their (Vietnamese, English) titles."""
    MESSAGES.update(messages)


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, "internal_error" if status >= 500 else "bad_request")


def wants_english(req: Request) -> bool:
    """Vietnamese unless the client prefers English in Accept-Language."""
    best = req.accept_languages.best_match(["vi", "en"], default="vi")
    return best == "en"


def title_for(code: str, english: bool) -> str:
    vi, en = MESSAGES.get(code, MESSAGES["bad_request"])
    return en if english else vi


class Problem(Exception):
    """An expected refusal: raised anywhere, answered as problem+json."""

    status = 400
    code = "bad_request"
    # A refusal whose side effects (a counted try, a log line) are committed anyway.
    commit_anyway = False

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        detail: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.code = code or type(self).code
        self.status = status or type(self).status
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = extra
        super().__init__(f"{self.status} {self.code}: {detail or ''}")


P = TypeVar("P", bound=Problem)


def kept(problem: P) -> P:
    """Mark a refusal whose side effects must be committed by `transaction()`."""
    problem.commit_anyway = True
    return problem


class ValidationProblem(Problem):
    status = 422
    code = "validation_error"


class NotFound(Problem):
    status = 404
    code = "not_found"


class Conflict(Problem):
    status = 409
    code = "conflict"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"


class Forbidden(Problem):
    status = 403
    code = "forbidden"


class TooManyRequests(Problem):
    """A limit was hit; `retry_after` seconds tell when to try again."""

    status = 429
    code = "rate_limited"

    def __init__(self, code: str | None = None, *, retry_after: int, **kwargs: Any) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after)))}
        super().__init__(code, headers=headers, retry_after=max(1, int(retry_after)), **kwargs)


class ServiceUnavailable(Problem):
    status = 503
    code = "service_unavailable"


def problem_response(
    status: int,
    code: str,
    *,
    detail: str | None = None,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """Build the problem+json response; the title follows Accept-Language."""
    english = wants_english(request)
    body: dict[str, Any] = {
        "type": f"https://portal.gov.vn/problems/{code.replace('_', '-')}",
        "title": title_for(code, english),
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    request_id = getattr(request, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Content-Language"] = "en" if english else "vi"
    return response


def from_problem(error: Problem) -> Response:
    return problem_response(
        error.status,
        error.code,
        detail=error.detail,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


def flatten_webargs_errors(messages: Mapping[str, Any]) -> dict[str, Any]:
    """webargs nests errors under the location ("json", "query"); callers want fields."""
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, Mapping):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat
