"""Optional OpenTelemetry traces: off unless ``MAS_OTEL_ENDPOINT`` names an OTLP/HTTP collector.

Nothing of OpenTelemetry is imported while tracing is off: every function here first asks
``enabled()`` (one global read) and returns. When on, a request's server span is the parent of
the task runs it queues, and a task's span the parent of what it queues in turn (the outbox's
``comms.send_email`` delivery): the W3C ``traceparent`` travels in the taskiq message's labels,
beside the request id (``outgoing_labels``), and the worker reads it back
(``DeliveryLabels`` → ``task_span``). Every span carries ``mas.request_id``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware

from mas.observability import request_id

REQUEST_ID_LABEL = "mas_request_id"
TRACEPARENT = "traceparent"

_tracer: Any = None
_provider: Any = None
_delivery: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "mas_delivery_labels", default=None
)


def enabled() -> bool:
    return _tracer is not None


def configure(endpoint: str, service_name: str) -> None:
    """Export spans over OTLP/HTTP to ``endpoint`` (``http://collector:4318``), in batches."""
    if not endpoint or enabled():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)


def install(provider: Any) -> None:
    """Trace through ``provider`` (an SDK ``TracerProvider``; the tests give an in-memory one)."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("mas")


def shutdown() -> None:
    """Flush what the batch holds and stop tracing (a stopping process)."""
    global _tracer, _provider
    provider, _tracer, _provider = _provider, None, None
    if provider is not None:
        provider.shutdown()


def _parent(carrier: Mapping[str, Any]) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = carrier.get(TRACEPARENT)
    if not isinstance(parent, str):
        return None
    return TraceContextTextMapPropagator().extract({TRACEPARENT: parent})


@contextlib.contextmanager
def server_span(method: str, traceparent: str | None) -> Iterator[Any]:
    """The span of one HTTP request (named after its route once routing chose one)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    parent = _parent({TRACEPARENT: traceparent}) if traceparent else None
    with _tracer.start_as_current_span(method, context=parent, kind=SpanKind.SERVER) as span:
        span.set_attribute("mas.request_id", request_id.get() or "")
        span.set_attribute("http.request.method", method)
        yield span


@contextlib.contextmanager
def task_span(task: str, **attributes: str | int) -> Iterator[Any]:
    """The span of one task run, the child of the span that queued it (``DeliveryLabels``)."""
    if _tracer is None:
        yield None
        return
    from opentelemetry.context import Context
    from opentelemetry.trace import SpanKind

    # The parent is the one the message names, never whatever span this process happens to
    # be in (the in-memory broker runs a task inside its sender's context): a message without
    # one starts a trace of its own, as it would on a worker.
    parent = _parent(_delivery.get() or {}) or Context()
    with _tracer.start_as_current_span(
        f"task {task}", context=parent, kind=SpanKind.CONSUMER
    ) as span:
        span.set_attribute("mas.task", task)
        span.set_attribute("mas.request_id", request_id.get() or "")
        for name, value in attributes.items():
            span.set_attribute(f"mas.{name}", value)
        yield span


def outgoing_labels() -> dict[str, Any]:
    """Labels of a message sent now: the request id, and the current span when tracing."""
    labels: dict[str, Any] = {}
    rid = request_id.get()
    if rid:
        labels[REQUEST_ID_LABEL] = rid
    if _tracer is not None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        TraceContextTextMapPropagator().inject(labels)
    return labels


class DeliveryLabels(TaskiqMiddleware):
    """Before a task runs: its request id into the logs' context, its labels for ``task_span``.

    taskiq awaits ``pre_execute`` and then the task in the same asyncio task, so the context
    variables set here are the ones the run sees.
    """

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        rid = message.labels.get(REQUEST_ID_LABEL)
        if isinstance(rid, str):
            request_id.set(rid)
        _delivery.set(message.labels)
        return message
