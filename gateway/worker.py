"""The gateway's gunicorn worker: gevent's, with the edge's rules before the app runs.

`gunicorn --worker-class gateway.worker.EdgeWorker 'gateway.app:create_app()'`

- A client has GATEWAY_REQUEST_RECEIVE_TIMEOUT seconds (or the keep-alive, when
  shorter) to send a request's line and headers; then the connection is closed. Its
  body has the same time again, counted by the app (gateway/receive.py).
- What gunicorn refuses before the app sees it (a request line over
  --limit-request-line, too many or too large headers, a malformed request) is
  answered as problem+json with the edge's security headers, not gunicorn's HTML.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import suppress
from typing import Any

import gevent  # type: ignore[import-untyped]
from gunicorn.http import errors  # type: ignore[import-untyped]
from gunicorn.workers.ggevent import GeventWorker  # type: ignore[import-untyped]

DEFAULT_RECEIVE_TIMEOUT = 15.0

# gunicorn's refusal -> (status, reason, problem code); the first match wins.
_REFUSALS: tuple[tuple[Any, int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large"),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented", "bad_request"),
    (
        (
            errors.InvalidRequestLine,
            errors.InvalidRequestMethod,
            errors.InvalidHTTPVersion,
            errors.InvalidHeader,
            errors.InvalidHeaderName,
            errors.InvalidChunkSize,
            errors.ChunkMissingTerminator,
            errors.InvalidSchemeHeaders,
            errors.ObsoleteFolding,
        ),
        400,
        "Bad Request",
        "bad_request",
    ),
)
_TITLES = {
    "uri_too_long": "Địa chỉ yêu cầu quá dài.",
    "headers_too_large": "Phần đầu của yêu cầu quá lớn.",
    "bad_request": "Yêu cầu không hợp lệ.",
}


def receive_timeout(env: Any = None) -> float:
    raw = (env if env is not None else os.environ).get("GATEWAY_REQUEST_RECEIVE_TIMEOUT", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_RECEIVE_TIMEOUT
    except ValueError:
        return DEFAULT_RECEIVE_TIMEOUT  # the app refuses the setting at start with a clear error
    return max(value, 0.1)


def refusal_answer(exc: BaseException, edge_headers: list[tuple[str, str]]) -> bytes | None:
    """The whole HTTP answer to a request gunicorn refused, or None for other errors."""
    found = next((r for r in _REFUSALS if isinstance(exc, r[0])), None)
    if found is None:
        return None
    _, status, reason, code = found
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "type": f"https://portal.gov.vn/problems/{code.replace('_', '-')}",
            "title": _TITLES[code],
            "status": status,
            "code": code,
            "request_id": request_id,
        },
        ensure_ascii=False,
    ).encode()
    headers = [
        ("Content-Type", "application/problem+json"),
        ("Content-Length", str(len(body))),
        ("Content-Language", "vi"),
        ("Connection", "close"),
        ("X-Request-ID", request_id),
        *edge_headers,
    ]
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("latin-1") + b"\r\n" + body


class EdgeWorker(GeventWorker):  # type: ignore[misc]
    """gevent worker bounding the time to receive headers; refusals as problem+json."""

    _edge_headers: list[tuple[str, str]] | None = None

    def init_process(self) -> None:
        self.receive_timeout = receive_timeout()
        super().init_process()

    def timeout_ctx(self) -> Any:
        keepalive = self.cfg.keepalive
        seconds = min(keepalive, self.receive_timeout) if keepalive else self.receive_timeout
        return gevent.Timeout(seconds, False)

    def edge_headers(self) -> list[tuple[str, str]]:
        if self._edge_headers is None:
            # Imported here: after gevent has patched the process.
            from gateway.config import GatewaySettings
            from gateway.edge import edge_header_list

            self._edge_headers = edge_header_list(GatewaySettings.from_env())
        return self._edge_headers

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        answer = refusal_answer(exc, self.edge_headers())
        if answer is None:
            super().handle_error(req, client, addr, exc)
            return
        self.log.debug("refused before the app: %s", exc)
        with suppress(OSError):
            client.sendall(answer)
