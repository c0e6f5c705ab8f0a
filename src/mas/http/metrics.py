"""``GET /metrics``: the Prometheus text format, for a scraper holding ``MAS_METRICS_TOKEN``.

Not a user route: no access token and no role reach it, only ``Authorization: Bearer <the
metrics token>`` (compared in constant time). Without a configured token the route answers 404
``metrics_off``, so an installation that never asked for metrics publishes none. The guard
treats it as public (it reads no JWT); the route checks its own credential, and the document
names that credential (``opt["credential"]``: ``metricsToken``) and both refusals in ``x-rules``.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from mas.adapters.telemetry.exposition import CONTENT_TYPE, scrape, token_matches
from mas.core.platform.errors import NotFound, Unauthorized
from mas.http.openapi import METRICS_TOKEN
from mas.modules.container import Container

METRICS_OFF = "metrics_off"
METRICS_TOKEN_REFUSED = "metrics_token_refused"


@get(
    "/metrics",
    operation_id="scrapeMetrics",
    summary="Prometheus metrics: requests, jobs, outbox, database pool, caches",
    tags=["platform"],
    media_type=CONTENT_TYPE,
    opt={
        "public": True,
        "credential": METRICS_TOKEN,
        "rules": {
            METRICS_OFF: "metrics are off until MAS_METRICS_TOKEN is set",
            METRICS_TOKEN_REFUSED: "the Authorization header must be Bearer <MAS_METRICS_TOKEN>",
        },
        "rules_status": {METRICS_OFF: 404, METRICS_TOKEN_REFUSED: 401},
    },
)
async def scrape_metrics(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> Response[bytes]:
    settings = container.settings
    if not settings.metrics_token:
        raise NotFound("metrics are off: set MAS_METRICS_TOKEN", code=METRICS_OFF)
    if not token_matches(settings.metrics_token, request.headers.get("authorization")):
        raise Unauthorized(
            "send Authorization: Bearer <MAS_METRICS_TOKEN>", code=METRICS_TOKEN_REFUSED
        )
    body = await scrape(container.engine, settings.metrics_fact_timeout_s)
    return Response(content=body, media_type=CONTENT_TYPE)
