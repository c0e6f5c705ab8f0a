"""OpenTelemetry traces (``MAS_OTEL_ENDPOINT``): one trace from the HTTP request through the
task it queues to the outbox delivery that task causes, and the OTLP/HTTP export itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mas.adapters.telemetry import tracing
from mas.core.identity.model import AuthMethod
from mas.core.identity.policy import Platform, Role
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy
from mas.modules.base import Module
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user, http_client

REQUEST_ID = "trace-test-request-0001"


async def mail_someone(c: Any, _: NoArgs) -> None:
    """A task that queues a mail: its delivery is the outbox's ``comms.send_email`` run."""
    async with c.uow() as uow:
        await uow.send(
            OutboxMessage.email(
                to="someone@example.com", subject="hello", body_text="hi", now=c.clock.now()
            )
        )
        await uow.commit()


MAIL_TASK = Handler(Task("traceprobe.mail", NoArgs, TaskPolicy(attempts=1)), mail_someone)
TASKS_MODULE: Module[Any] = Module(
    name="traceprobe", services=object, build=lambda c: c, handlers=(MAIL_TASK,)
)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.shutdown()


async def test_one_trace_from_request_to_task_to_outbox_delivery(
    spans: InMemorySpanExporter, sqlite_url: str, tmp_path: Path
) -> None:
    c = await open_container(make_settings(sqlite_url, tmp_path), extra=(TASKS_MODULE,))
    try:
        admin = await add_user(c, Role.ADMIN)
        token = c.identity.issuer.access_token(
            admin, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        async with http_client(c) as client:
            response = await client.post(
                "/api/admin/jobs",
                json={"task": "traceprobe.mail", "args": {}},
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": REQUEST_ID},
            )
        assert response.status_code == 202, response.text
    finally:
        await c.close()
    finished = {span.name: span for span in spans.get_finished_spans()}
    http = finished["POST /api/admin/jobs"]
    task = finished["task traceprobe.mail"]
    delivery = finished["task comms.send_email"]
    assert http.context.trace_id == task.context.trace_id == delivery.context.trace_id
    assert task.parent is not None and task.parent.span_id == http.context.span_id
    assert delivery.parent is not None and delivery.parent.span_id == task.context.span_id
    for span in (http, task, delivery):
        assert dict(span.attributes or {})["mas.request_id"] == REQUEST_ID
    assert dict(http.attributes or {})["http.route"] == "/api/admin/jobs"
    assert dict(http.attributes or {})["http.response.status_code"] == 202
    assert dict(delivery.attributes or {})["mas.job_status"] == "succeeded"


async def test_an_incoming_traceparent_is_the_request_spans_parent(
    spans: InMemorySpanExporter, sqlite_container: Any
) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with http_client(sqlite_container) as client:
        assert (await client.get("/health", headers={"traceparent": parent})).status_code == 200
    (span,) = [s for s in spans.get_finished_spans() if s.name == "GET /health"]
    assert format(span.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_the_otlp_exporter_posts_to_the_collector() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tracing.configure(f"http://127.0.0.1:{server.server_port}", "mas-under-test")
        assert tracing.enabled()
        with tracing.task_span("probe.exported", run_id="r1"):
            pass
        tracing.shutdown()  # flushes the batch
    finally:
        server.shutdown()
        server.server_close()
    assert not tracing.enabled()
    ((path, content_type, body),) = _Collector.received
    assert path == "/v1/traces"
    assert content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "mas-under-test"
    names = [span.name for scope in resource_spans.scope_spans for span in scope.spans]
    assert names == ["task probe.exported"]


def test_nothing_of_opentelemetry_loads_while_tracing_is_off() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mas.http.app, mas.jobs.worker; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
