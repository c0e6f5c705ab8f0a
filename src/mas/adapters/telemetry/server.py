"""``GET /metrics`` of a ``mas worker`` or ``mas scheduler`` (``MAS_METRICS_PORT``): a worker is
no HTTP server, and it may run on another machine than the API, so it answers scrapes itself.

A plain asyncio listener, one request per connection, the same bearer token as the API's route;
anything else than ``GET /metrics`` is 404.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from mas.adapters.telemetry.exposition import CONTENT_TYPE, token_matches

log = logging.getLogger("mas.metrics")

MAX_HEAD = 16 * 1024


async def serve_metrics(
    host: str, port: int, token: str, render: Callable[[], Awaitable[bytes]]
) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            status, body, kind = await _respond(head[:MAX_HEAD], token, render)
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that sent no complete request gets no answer
        except ConnectionError as exc:
            log.info("metrics.client_gone", extra={"error": repr(exc)})
        finally:
            writer.close()

    return await asyncio.start_server(answer, host, port, limit=MAX_HEAD)


async def _respond(
    head: bytes, token: str, render: Callable[[], Awaitable[bytes]]
) -> tuple[str, bytes, str]:
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    path = rest.split(" ", 1)[0].split("?", 1)[0]
    if method != "GET" or path != "/metrics":
        return "404 Not Found", b"not found\n", "text/plain"
    authorization = next(
        (
            line.split(":", 1)[1].strip()
            for line in lines[1:]
            if line.lower().startswith("authorization:")
        ),
        None,
    )
    if not token_matches(token, authorization):
        return "401 Unauthorized", b"a bearer token is required\n", "text/plain"
    return "200 OK", await render(), CONTENT_TYPE + "; charset=utf-8"
