"""Request context: request id, access log, and the ``X-Platform`` rule.

``request_context`` wraps Litestar's whole ASGI handler (not a route middleware), so unknown
routes and crashes get a request id too.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from mas.adapters.telemetry import tracing
from mas.adapters.telemetry.metrics import UNMATCHED, observe_request
from mas.core.identity.policy import Platform
from mas.core.platform.errors import BadRequest
from mas.core.platform.ids import uuid7
from mas.observability import request_id

log = logging.getLogger("mas.http.access")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_context(app: ASGIApp) -> ASGIApp:
    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _SAFE_ID.match(incoming) else uuid7().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}  # type: ignore[misc]
            await send(message)

        try:
            if tracing.enabled():
                await _traced(app, scope, receive, send_with_id, lambda: status)
            else:
                await app(scope, receive, send_with_id)
        finally:
            observe_request(
                scope.get("path_template", UNMATCHED),
                scope["method"],
                status,
                time.perf_counter() - started,
            )
            log.info(
                "http.request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)

    return handle


async def _traced(app: ASGIApp, scope: Scope, receive: Receive, send: Send, status: Any) -> None:
    method = scope["method"]
    with tracing.server_span(method, _header(scope, b"traceparent")) as span:
        try:
            await app(scope, receive, send)
        finally:
            route = scope.get("path_template", UNMATCHED)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status())


def platform_of(scope: Scope, default: Platform) -> Platform:
    raw = _header(scope, b"x-platform")
    if raw is None or not raw.strip():
        return default
    try:
        return Platform(raw.strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Platform)
        raise BadRequest(
            f"unknown X-Platform '{raw[:60]}'; use one of: {known}", code="unknown_platform"
        ) from None


def platform_middleware(default: Platform) -> Any:
    """Route middleware: parse ``X-Platform`` into request state (400 on an unknown value)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                scope.setdefault("state", {})["platform"] = platform_of(scope, default)
            await app(scope, receive, send)

        return handle

    return factory
