"""Receiving a request body at the edge, whole and within a deadline, before any service sees it.

A client that sends its headers and then stalls (or trickles its body) costs the
gateway a socket and a greenlet until GATEWAY_REQUEST_RECEIVE_TIMEOUT, and costs the
services nothing: no upstream request is opened until the body is here in full (in
memory up to 1 MiB, spooled to a temporary file beyond, never more than the limit).
A body not received in time is answered 408 `request_timeout`.
"""

from __future__ import annotations

import importlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

from services.core.problems import Problem, register_messages

CHUNK = 64 * 1024
# Bodies up to this size are kept in memory; larger ones go to a temporary file.
IN_MEMORY = 1024 * 1024
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

register_messages(
    {
        "request_timeout": (
            "Dữ liệu gửi lên quá chậm hoặc bị gián đoạn. Vui lòng kiểm tra kết nối và thử lại.",
            "The request was not received in time.",
        ),
        "request_incomplete": (
            "Dữ liệu gửi lên bị gián đoạn. Vui lòng thử lại.",
            "The request body ended before its declared length.",
        ),
    }
)


class PayloadTooLarge(Problem):
    status = 413
    code = "payload_too_large"


class RequestTimeout(Problem):
    status = 408
    code = "request_timeout"


class RequestIncomplete(Problem):
    status = 400
    code = "request_incomplete"


def _gevent_timeout() -> Any:
    """gevent's Timeout when this process runs under gevent (gunicorn's gevent workers)."""
    try:
        gevent = importlib.import_module("gevent")
        monkey = importlib.import_module("gevent.monkey")
    except ImportError:  # pragma: no cover - gevent ships with the gateway
        return None
    return gevent.Timeout if monkey.is_module_patched("socket") else None


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Under gevent the whole receipt is cut at the deadline; elsewhere each read is."""
    timeout_class = _gevent_timeout()
    if timeout_class is None:
        yield
        return
    with timeout_class(seconds, RequestTimeout(detail=f"the limit is {seconds:g} s")):
        yield


def _declared_length(environ: dict[str, Any]) -> int:
    raw = environ.get("CONTENT_LENGTH") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        raise Problem(detail="Content-Length is not a number") from None


def receive_body(
    environ: dict[str, Any], max_bytes: int, timeout: float
) -> tuple[IO[bytes] | bytes | None, int]:
    """The whole body (bytes, a temporary file, or None without one) and its length.

    Raises 413 past `max_bytes` (before reading when the length is declared), 408 when
    the client has not sent it all within `timeout` seconds.
    """
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = _declared_length(environ)
    if not chunked:
        if length > max_bytes:
            raise PayloadTooLarge(detail=f"the limit is {max_bytes} bytes")
        if length == 0:
            if environ.get("CONTENT_LENGTH") is not None and environ["REQUEST_METHOD"] in (
                _WITH_BODY
            ):
                return b"", 0
            return None, 0
    stream = environ["wsgi.input"]
    sock: Any = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    settable = hasattr(sock, "settimeout")
    previous = sock.gettimeout() if settable else None
    deadline = time.monotonic() + timeout
    parts: list[bytes] = []
    spool: IO[bytes] | None = None
    size = 0
    try:
        with _deadline(timeout):
            while chunked or size < length:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RequestTimeout(detail=f"the limit is {timeout:g} s")
                if settable:
                    sock.settimeout(remaining)
                want = CHUNK if chunked else min(CHUNK, length - size)
                read = getattr(stream, "read1", None) or stream.read
                chunk = read(want)
                if not chunk:
                    if chunked:
                        break
                    raise RequestIncomplete(detail=f"{size} of {length} bytes received")
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(detail=f"the limit is {max_bytes} bytes")
                if spool is not None:
                    spool.write(chunk)
                elif size > IN_MEMORY:
                    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
                    spool.writelines(parts)
                    spool.write(chunk)
                    parts.clear()
                else:
                    parts.append(chunk)
    except TimeoutError:
        if spool is not None:
            spool.close()
        raise RequestTimeout(detail=f"the limit is {timeout:g} s") from None
    except OSError:  # the client went away (a reset, gunicorn's NoMoreData)
        if spool is not None:
            spool.close()
        raise RequestIncomplete(
            detail=f"{size} of {length or 'a chunked'} bytes received"
        ) from None
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    finally:
        if settable:
            with suppress(OSError):
                sock.settimeout(previous)
    if spool is not None:
        spool.seek(0)
        return spool, size
    return b"".join(parts), size
