"""The gateway's parts every entry (Flask routes and the WSGI fast path) shares:
the upstream pools, the province registry, the token verifier, and forwarding."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from flask import Response, request

from gateway.config import GatewaySettings
from gateway.edge import edge_verifier
from gateway.federation import ProvinceRegistry
from gateway.metrics import count, observe
from gateway.openapi import OpenApiAggregate
from gateway.proxy import Upstream, forwarded_request_headers, stream_response
from gateway.receive import receive_body
from services.core.auth import TokenVerifier
from services.core.problems import Problem, register_messages

register_messages(
    {
        "upstream_unavailable": (
            "Dịch vụ tạm thời không truy cập được, vui lòng thử lại sau.",
            "The service is unreachable.",
        ),
        "upstream_timeout": (
            "Dịch vụ không phản hồi kịp, vui lòng thử lại sau.",
            "The service did not answer in time.",
        ),
        "province_unknown": (
            "Không tìm thấy tỉnh, thành phố này trên Cổng.",
            "No portal is registered for this province.",
        ),
    }
)


class Gateway:
    """The gateway's parts: upstream pools, the province registry, the verifier."""

    def __init__(self, settings: GatewaySettings, verifier: TokenVerifier | None = None) -> None:
        self.settings = settings

        def pool(url: str) -> Upstream:
            return Upstream(
                url,
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                pool_size=settings.pool_size,
            )

        self.upstreams = {name: pool(url) for name, url in settings.upstreams.items()}
        self.registry = (
            ProvinceRegistry.load(settings.provinces_file)
            if settings.provinces_file is not None
            else ProvinceRegistry(())
        )
        self.province_gateways = {p.code: pool(p.base_url) for p in self.registry.provinces}
        self.verifier = verifier or edge_verifier(settings)
        self.openapi = OpenApiAggregate(self.upstreams)

    def forward(self, upstream: Upstream, label: str, path_and_query: str) -> Response:
        """Send the current request to `upstream` and stream its answer back."""
        # The whole body first: a service never waits on a slow client.
        body, length = receive_body(
            request.environ, self.settings.max_body_bytes, self.settings.receive_timeout
        )
        headers = forwarded_request_headers(request, request.request_id)  # type: ignore[attr-defined]
        if body is not None:
            headers["Content-Length"] = str(length)
        started = time.perf_counter()
        try:
            answer = upstream.request(request.method, path_and_query, headers, body)
        except Problem as problem:
            count(label, problem.status)
            raise
        finally:
            if hasattr(body, "close"):
                body.close()  # type: ignore[union-attr]
        observe(label, time.perf_counter() - started)
        count(label, answer.status)
        return stream_response(answer, request.method, upstream.origin)

    def ready(self) -> dict[str, bool]:
        """Does every upstream answer its /healthz now?"""

        def alive(upstream: Upstream) -> bool:
            try:
                answer = upstream.pool.urlopen(
                    "GET",
                    f"{upstream.base_path}/healthz",
                    retries=False,
                    timeout=self.settings.readiness_timeout,
                    preload_content=True,
                )
            except Exception:
                return False
            return answer.status == 200

        with ThreadPoolExecutor(max_workers=len(self.upstreams)) as pool:
            results = pool.map(alive, self.upstreams.values())
            return dict(zip(self.upstreams, results, strict=True))
