"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec
from sqlalchemy import text


class Health(msgspec.Struct):
    status: str
    version: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    tags = ["platform"]

    @get("/health", operation_id="health", summary="The process is up", opt={"public": True})
    async def health(self) -> Health:
        from mas import __version__

        return Health(status="ok", version=__version__)

    @get(
        "/ready",
        operation_id="ready",
        summary="The database and the broker are reachable (503 otherwise)",
        opt={"public": True},
        responses={503: ResponseSpec(data_container=Readiness, description="a dependency is down")},
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Readiness]:
        container = request.app.state.container
        checks = {"database": await _check_database(container), "broker": _check_broker(container)}
        ok = all(value == "ok" for value in checks.values())
        # A readiness report either way (not a problem document): what the OpenAPI says.
        return Response(
            Readiness(status="ready" if ok else "not_ready", checks=checks),
            status_code=200 if ok else 503,
        )


async def _check_database(container: Any) -> str:
    try:
        async with asyncio.timeout(2):
            async with container.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - readiness reports the failure instead of raising
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _check_broker(container: Any) -> str:
    client = getattr(container.broker, "client", None)
    if client is None:
        return "ok"  # the in-memory broker lives in this process
    return "ok" if client.is_connected else "unreachable: NATS connection down"
