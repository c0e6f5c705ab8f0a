"""``mas worker``: consume tasks from NATS JetStream and release due "run at" work."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from typing import Any

import msgspec
from taskiq.api import run_receiver_task
from taskiq.receiver import Receiver

from mas.adapters.telemetry import tracing
from mas.bootstrap import build_container
from mas.jobs.runner import register_all
from mas.jobs.scheduler import Scheduler, effective_crons, release_due_loop
from mas.modules.base import Module, resolve
from mas.settings import Settings

log = logging.getLogger("mas.worker")


class _Receiver(Receiver):
    """taskiq's receiver without a dependency context per message for a task that declares no
    dependencies (ours take only the run id): building one cost a tenth of a no-op task."""

    def _prepare_task(self, name: str, handler: Callable[..., Any]) -> None:
        super()._prepare_task(name, handler)
        graph = self.dependency_graphs.get(name)
        if graph is not None and graph.is_empty():
            del self.dependency_graphs[name]


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def extra_modules(refs: list[str]) -> tuple[Module[Any], ...]:
    """``--import pkg.mod``: a Python module whose ``MODULE`` is one more domain manifest (the
    tests' probe tasks)."""
    return tuple(resolve(f"{ref}:MODULE") for ref in refs)


async def _serve_metrics(settings: Settings) -> asyncio.Server | None:
    """``MAS_METRICS_PORT``: this process's own ``GET /metrics`` (jobs, pool, caches)."""
    if not settings.metrics_port:
        return None
    if not settings.metrics_token:
        log.warning("metrics.off", extra={"reason": "MAS_METRICS_PORT without MAS_METRICS_TOKEN"})
        return None
    from mas.adapters.telemetry.exposition import scrape
    from mas.adapters.telemetry.server import serve_metrics

    server = await serve_metrics(
        settings.metrics_host, settings.metrics_port, settings.metrics_token, lambda: scrape(None)
    )
    log.info("metrics.serving", extra={"port": settings.metrics_port})
    return server


async def run_worker(settings: Settings, imports: list[str], concurrency: int) -> None:
    # JetStream's max_ack_pending is sized from this setting: keep it in step with --concurrency.
    settings = msgspec.structs.replace(settings, worker_concurrency=concurrency)
    c = await build_container(settings, extra=extra_modules(imports))
    register_all(c.broker, c)
    c.broker.is_worker_process = True
    await c.start_broker()
    # What startup built lives as long as the process: keep the collector from walking it again.
    gc.freeze()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    receiver = asyncio.create_task(
        run_receiver_task(
            c.broker,
            receiver_cls=_Receiver,
            # The run id is parsed by the ledger wrapper; taskiq need not validate it again.
            validate_params=False,
            max_async_tasks=concurrency,
            max_prefetch=concurrency,
            run_startup=False,
        )
    )
    release = asyncio.create_task(release_due_loop(c, stop))
    metrics = await _serve_metrics(settings)
    log.info("worker.started", extra={"concurrency": concurrency, "tasks": sorted(c.tasks)})
    try:
        await stop.wait()
    finally:
        # Unfinished deliveries are not acknowledged: JetStream hands them to another worker.
        receiver.cancel()
        await asyncio.gather(receiver, release, return_exceptions=True)
        if metrics is not None:
            metrics.close()
        await c.close()
        tracing.shutdown()
        log.info("worker.stopped")


async def run_scheduler(settings: Settings, imports: list[str]) -> None:
    extra = extra_modules(imports)
    c = await build_container(settings, extra=extra)
    await c.start_broker()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    metrics = await _serve_metrics(settings)
    try:
        await Scheduler(c, effective_crons(settings.cron_overrides, extra)).run(stop)
    finally:
        if metrics is not None:
            metrics.close()
        await c.close()
        tracing.shutdown()
