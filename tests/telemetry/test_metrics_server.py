"""The ``GET /metrics`` a ``mas worker`` or ``mas scheduler`` serves on ``MAS_METRICS_PORT``."""

from __future__ import annotations

import asyncio

from mas.adapters.telemetry import metrics
from mas.adapters.telemetry.exposition import scrape
from mas.adapters.telemetry.server import serve_metrics

TOKEN = "worker-" + "z" * 24


async def _get(port: int, path: str, authorization: str | None) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET {path} HTTP/1.1\r\nHost: x\r\n"
    if authorization is not None:
        head += f"Authorization: {authorization}\r\n"
    writer.write((head + "\r\n").encode())
    await writer.drain()
    answer = (await reader.read()).decode()
    writer.close()
    status_line, _, rest = answer.partition("\r\n")
    return status_line, rest.partition("\r\n\r\n")[2]


async def test_the_worker_answers_a_scrape_with_its_token_only() -> None:
    metrics.job_finished("probe.worker_metrics", "succeeded")
    server = await serve_metrics("127.0.0.1", 0, TOKEN, lambda: scrape(None))
    port = server.sockets[0].getsockname()[1]
    try:
        status, body = await _get(port, "/metrics", f"Bearer {TOKEN}")
        refused, _ = await _get(port, "/metrics", "Bearer wrong")
        anonymous, _ = await _get(port, "/metrics", None)
        elsewhere, _ = await _get(port, "/", f"Bearer {TOKEN}")
    finally:
        server.close()
        await server.wait_closed()
    assert status == "HTTP/1.1 200 OK"
    assert 'mas_job_runs_total{status="succeeded",task="probe.worker_metrics"}' in body
    assert refused == anonymous == "HTTP/1.1 401 Unauthorized"
    assert elsewhere == "HTTP/1.1 404 Not Found"
