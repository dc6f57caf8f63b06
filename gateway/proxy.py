"""The reverse proxy: pooled keep-alive connections to each upstream.

A request body is received whole at the edge first (gateway/receive.py), so a
service is never handed a body the client has not finished sending, and always gets
a Content-Length. Response bodies stream back as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any
from urllib.parse import urlsplit

import urllib3
from flask import Request, Response
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)

from services.core.problems import Problem

# RFC 9110 7.6.1: connection-scoped headers a proxy must not forward.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
CHUNK = 64 * 1024
# Answers up to this size are read whole: the connection goes back to the pool at once.
SMALL_BODY = 256 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Retry objects are immutable (increment() returns a new one): one serves every call.
# A service's answer is never retried: a 503 or 429 with Retry-After is the client's to
# see (urllib3 would otherwise count it as a retry and give up with a 502).
RETRY_DROPPED_CONNECTION = urllib3.Retry(
    total=1,
    connect=0,
    read=0,
    other=1,
    status=0,
    redirect=0,
    respect_retry_after_header=False,
    raise_on_status=False,
)


class UpstreamUnavailable(Problem):
    status = 502
    code = "upstream_unavailable"


class UpstreamTimeout(Problem):
    status = 504
    code = "upstream_timeout"


def forwarded_request_headers(request: Request, request_id: str) -> dict[str, str]:
    """The client's headers less hop-by-hop ones, plus X-Forwarded-* and X-Request-ID."""
    connection_tokens = {
        token.strip().lower() for token in request.headers.get("Connection", "").split(",")
    }
    drop = HOP_BY_HOP | connection_tokens | {"host", "content-length", "x-request-id"}
    headers = {k: v for k, v in request.headers.items() if k.lower() not in drop}
    headers["X-Forwarded-For"] = forwarded_for(
        request.headers.get("X-Forwarded-For"), request.environ
    )
    headers["X-Forwarded-Host"] = request.host
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Request-ID"] = request_id
    return headers


def forwarded_for(prior: str | None, environ: Mapping[str, Any]) -> str:
    """The chain received plus the address of our peer, as every proxy appends it.

    Behind trusted proxies ProxyFix has put the client in REMOTE_ADDR; the peer (the
    load balancer) is then the original REMOTE_ADDR it kept aside.
    """
    original = environ.get("werkzeug.proxy_fix.orig") or {}
    peer = str(original.get("REMOTE_ADDR") or environ.get("REMOTE_ADDR") or "")
    return f"{prior}, {peer}" if prior else peer


def response_headers(upstream: urllib3.BaseHTTPResponse, origin: str = "") -> list[tuple[str, str]]:
    """The service's headers less hop-by-hop ones; a Location naming the service's own
    address (`origin`, e.g. http://10.0.0.5:8002) becomes a path on the portal."""
    connection_tokens = {
        token.strip().lower() for token in upstream.headers.get("Connection", "").split(",")
    }
    drop = HOP_BY_HOP | connection_tokens | {"x-request-id"}
    headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in drop]
    if origin:
        headers = [(k, _relative(v, origin) if k.lower() in _LOCATIONS else v) for k, v in headers]
    return headers


_LOCATIONS = frozenset({"location", "content-location"})


def _relative(url: str, origin: str) -> str:
    if url.lower().startswith(origin.lower()):
        rest = url[len(origin) :]
        if not rest or rest[0] in "/?#":
            return rest or "/"
    return url


class Upstream:
    """One service: a keep-alive connection pool and the calls through it."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
    ) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url
        self.base_path = parts.path.rstrip("/")
        # The service's own address: never shown to a client (see response_headers).
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        pool_kwargs: dict[str, Any] = {
            "maxsize": pool_size,
            "block": False,
            "timeout": self.timeout,
            "retries": False,
        }
        self.pool: urllib3.HTTPConnectionPool = urllib3.connection_from_url(base_url, **pool_kwargs)

    def request(
        self,
        method: str,
        path_and_query: str,
        headers: dict[str, str],
        body: IO[bytes] | bytes | None = None,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request; 502/504 problems when the service is down or slow."""
        # A pooled connection the service closed meanwhile is retried once, but only
        # for a request that can be sent again (idempotent, no streamed body).
        retries: urllib3.Retry | bool = False
        if method in IDEMPOTENT and not hasattr(body, "read"):
            retries = RETRY_DROPPED_CONNECTION
        try:
            return self.pool.urlopen(
                method,
                f"{self.base_path}{path_and_query}",
                body=body,
                headers=headers,
                retries=retries,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                timeout=self.timeout,
            )
        except urllib3.exceptions.MaxRetryError as exc:
            raise _upstream_problem(exc.reason) from exc
        except (HTTPError, OSError) as exc:
            raise _upstream_problem(exc) from exc


def _upstream_problem(error: BaseException | None) -> Problem:
    # NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError: test it first.
    if isinstance(error, NewConnectionError):
        return UpstreamUnavailable(detail="the service is unreachable")
    if isinstance(error, ReadTimeoutError | ConnectTimeoutError | TimeoutError):
        return UpstreamTimeout(detail="the service did not answer in time")
    return UpstreamUnavailable(detail="the service is unreachable")


def small_length(upstream: urllib3.BaseHTTPResponse) -> bool:
    """Is the answer's body declared and small enough to read whole?"""
    length = upstream.headers.get("Content-Length")
    return length is not None and length.isdigit() and int(length) <= SMALL_BODY


def stream_response(upstream: urllib3.BaseHTTPResponse, method: str, origin: str = "") -> Response:
    """The service's answer, its body read whole when small, else streamed."""
    headers = response_headers(upstream, origin)
    if method == "HEAD" or small_length(upstream):
        try:
            data = upstream.read(decode_content=False)
        finally:
            upstream.release_conn()
        return Response(data, status=upstream.status, headers=headers)
    return Response(
        _chunks(upstream), status=upstream.status, headers=headers, direct_passthrough=True
    )


def _chunks(upstream: urllib3.BaseHTTPResponse) -> Iterable[bytes]:
    def generate() -> Iterator[bytes]:
        try:
            yield from upstream.stream(CHUNK, decode_content=False)
        except HTTPError:
            # Headers are out already: all a proxy can do is cut the body short.
            return
        finally:
            upstream.release_conn()

    return generate()
