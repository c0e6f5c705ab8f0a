"""What the database knows, read once per scrape: the outbox backlog, the job queue's depth by
status and the dead letters. One indexed query each, under a time limit.

A fact whose query fails or runs out of time is not guessed: its ``mas_fact_up`` is 0 and the
scrape carries a comment saying why, while every other family is still answered (a down
database must not turn every scrape into a 500 the scraper retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.db.platform.tables import JobRunRow, OutboxEventRow, OutboxMessageRow

log = logging.getLogger("mas.metrics")

# Non-terminal statuses (plus dead): succeeded and skipped runs pile up and are not a queue.
QUEUE_STATUSES = ("queued", "running", "failed", "dead")
BACKLOG_STATUSES = ("pending", "pending_config", "failed")


@dataclass
class Facts:
    job_runs: dict[str, int] = field(default_factory=dict)
    outbox_messages: dict[str, int] = field(default_factory=dict)
    outbox_events: int | None = None
    errors: dict[str, str] = field(default_factory=dict)


async def read_facts(engine: AsyncEngine, timeout_s: float) -> Facts:
    facts = Facts()
    queries = {
        "job_runs": select(JobRunRow.status, func.count())
        .where(JobRunRow.status.in_(QUEUE_STATUSES))
        .group_by(JobRunRow.status),
        "outbox_messages": select(OutboxMessageRow.status, func.count())
        .where(OutboxMessageRow.status.in_(BACKLOG_STATUSES))
        .group_by(OutboxMessageRow.status),
        "outbox_events": select(func.count()).where(OutboxEventRow.published_at.is_(None)),
    }
    for name, query in queries.items():
        try:
            async with asyncio.timeout(timeout_s), engine.connect() as conn:
                rows = (await conn.execute(query)).all()
        except TimeoutError:
            facts.errors[name] = f"timed out after {timeout_s:g} s"
        except Exception as exc:  # noqa: BLE001 - reported in the scrape, the rest still answers
            facts.errors[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            if name == "outbox_events":
                facts.outbox_events = int(rows[0][0])
            else:
                setattr(facts, name, {str(status): int(count) for status, count in rows})
            continue
        log.warning("metrics.fact_failed", extra={"fact": name, "error": facts.errors[name]})
    return facts


class FactsCollector(Collector):
    """The facts of one scrape as metric families."""

    def __init__(self, facts: Facts) -> None:
        self._facts = facts

    def collect(self) -> Iterator[Metric]:
        facts = self._facts
        up = GaugeMetricFamily(
            "mas_fact_up", "1 when the fact's query answered in this scrape", labels=["fact"]
        )
        for name in ("job_runs", "outbox_messages", "outbox_events"):
            up.add_metric([name], 0.0 if name in facts.errors else 1.0)
        yield up
        if "job_runs" not in facts.errors:
            depth = GaugeMetricFamily(
                "mas_job_queue_depth",
                "Job runs not finished, by status (failed: waiting for a retry)",
                labels=["status"],
            )
            for status in QUEUE_STATUSES[:-1]:
                depth.add_metric([status], facts.job_runs.get(status, 0))
            yield depth
            yield GaugeMetricFamily(
                "mas_job_dead_letters",
                "Job runs out of attempts (mas jobs retry ID)",
                value=facts.job_runs.get("dead", 0),
            )
        if "outbox_messages" not in facts.errors:
            backlog = GaugeMetricFamily(
                "mas_outbox_backlog",
                "Outbox messages not delivered yet, by status",
                labels=["status"],
            )
            for status in BACKLOG_STATUSES:
                backlog.add_metric([status], facts.outbox_messages.get(status, 0))
            yield backlog
        if facts.outbox_events is not None:
            yield GaugeMetricFamily(
                "mas_outbox_events_unpublished",
                "Recorded domain events the relay has not published yet",
                value=facts.outbox_events,
            )
