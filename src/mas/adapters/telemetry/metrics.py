"""The process's metric families, written by the HTTP middleware, the job runner, the cache
adapters and the database pool, and read by ``exposition``.

Labels are bounded by the code, never by input: a request is counted under its route's
template (``/api/crm/leads/{lead_id:uuid}``; a path no route matches is ``unmatched``), a job
under its declared task name, a cache lookup under its key's family (the key's leading
lowercase words: ``auth:user``, ``auth:sid-revoked``, ``notifications:unread``).

Gauges that several granian workers each hold (the pool) are summed over the live workers
(``livesum``); the facts the database holds are not here but in ``facts``.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "mas_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "mas_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body), by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_RUNS = Counter(
    "mas_job_runs",
    "Task runs finished, by task and outcome (succeeded, failed: will retry, dead, error)",
    ["task", "status"],
)
JOB_QUEUE_LAG = Histogram(
    "mas_job_queue_lag_seconds",
    "Time from a job's enqueue to its first start, by task",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
CACHE_HITS = Counter("mas_cache_hits", "Cache lookups that found the key, by key family", ["cache"])
CACHE_MISSES = Counter(
    "mas_cache_misses", "Cache lookups that did not find the key, by key family", ["cache"]
)
POOL_CHECKED_OUT = Gauge(
    "mas_db_pool_checked_out",
    "Database connections in use (summed over live processes)",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "mas_db_pool_size",
    "Database connections the pools keep (summed over live processes)",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "mas_db_pool_overflow",
    "Database connections open beyond the pool size (summed over live processes)",
    multiprocess_mode="livesum",
)
POOL_MAX_OVERFLOW = Gauge(
    "mas_db_pool_max_overflow",
    "Connections the pools may open beyond their size (summed over live processes)",
    multiprocess_mode="livesum",
)

_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status)
    pair = _children.get(key)
    if pair is None:
        pair = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_LATENCY.labels(route, method),
        )
        _children[key] = pair
    pair[0].inc()
    pair[1].observe(seconds)


def job_finished(task: str, status: str) -> None:
    JOB_RUNS.labels(task, status).inc()


def job_started(task: str, lag_s: float) -> None:
    JOB_QUEUE_LAG.labels(task).observe(max(lag_s, 0.0))


_FAMILY = re.compile(r"[a-z][a-z_-]*(?::[a-z][a-z_-]*)?(?=:|$)")
_families: dict[str, tuple[Any, Any]] = {}


def family_of(key: str) -> str:
    """The key's leading lowercase words (at most two): ids, tokens and numbers never label."""
    found = _FAMILY.match(key)
    return found.group(0) if found else "other"


MAX_FAMILIES = 64
"""Past this many key families every new one counts as ``other`` (a key whose second word
came from input must not grow the label set)."""


def count_lookup(key: str, hit: bool) -> None:
    family = family_of(key)
    pair = _families.get(family)
    if pair is None:
        if len(_families) >= MAX_FAMILIES:
            family = "other"
            pair = _families.get(family)
    if pair is None:
        pair = _families[family] = (CACHE_HITS.labels(family), CACHE_MISSES.labels(family))
    pair[0 if hit else 1].inc()


def instrument_pool(engine: AsyncEngine) -> None:
    """Sample the pool's use on every checkout and check-in (a pool without a size, SQLite's
    static one, reports nothing)."""
    pool = engine.sync_engine.pool
    if not hasattr(pool, "checkedout"):
        return

    def sample(*_: Any) -> None:
        POOL_CHECKED_OUT.set(pool.checkedout())
        POOL_SIZE.set(pool.size())
        POOL_OVERFLOW.set(max(pool.overflow(), 0))

    POOL_MAX_OVERFLOW.set(max(getattr(pool, "_max_overflow", 0), 0))
    sample()
    event.listen(engine.sync_engine, "checkout", sample)
    event.listen(engine.sync_engine, "checkin", sample)
