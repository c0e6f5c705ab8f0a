"""A real ``mas worker`` on NATS: its own ``GET /metrics`` (``--metrics-port``) counts the runs
it made, and its task span continues the trace of the process that queued the task (the W3C
``traceparent`` in the JetStream message's labels), exported over OTLP/HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks._support import free_port
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from mas.adapters.telemetry import tracing
from mas.core.platform.job_model import JobStatus
from tests.nats.conftest import Processes, wait_for

pytestmark = pytest.mark.nats

TOKEN = "worker-scrape-" + "w" * 20


class _Collector(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[HTTPServer]:
    _Collector.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def exported_spans() -> list[Any]:
    found = []
    for body in _Collector.bodies:
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope in resource.scope_spans:
                found.extend(scope.spans)
    return found


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


async def test_the_worker_counts_its_runs_and_continues_the_trace(
    producer: Any, procs: Processes, tmp_path: Path, collector: HTTPServer
) -> None:
    port = free_port()
    procs.env.update(
        {
            "MAS_METRICS_TOKEN": TOKEN,
            "MAS_OTEL_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
    )
    procs.start(
        "worker", "--import", "tests.nats.probe_tasks", "--metrics-port", str(port), name="worker"
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        with tracing.task_span("test.sender") as sender:
            run = await producer.jobs.enqueue("probe.record", {"path": str(tmp_path / "o.txt")})
    finally:
        tracing.shutdown()

    async def done() -> bool:
        return (await producer.jobs.get(run.id)).status is JobStatus.SUCCEEDED

    await wait_for(done, what="the worker to run the task")

    async def scraped() -> str | None:
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(
                    f"http://127.0.0.1:{port}/metrics",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
        except httpx.TransportError:
            return None
        return response.text if response.status_code == 200 else None

    text = await wait_for(scraped, what="the worker's metrics")
    assert sample(text, "mas_job_runs_total", task="probe.record", status="succeeded") == 1
    assert sample(text, "mas_job_queue_lag_seconds_count", task="probe.record") == 1
    async with httpx.AsyncClient() as client:
        refused = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert refused.status_code == 401

    async def exported() -> list[Any]:
        return [s for s in exported_spans() if s.name == "task probe.record"]

    (span,) = await wait_for(exported, what="the worker's span at the collector")
    context = sender.get_span_context()
    assert span.trace_id == context.trace_id.to_bytes(16, "big")
    assert span.parent_span_id == context.span_id.to_bytes(8, "big")
