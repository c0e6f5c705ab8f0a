"""One scrape: this process's families (or, under ``mas serve --workers N``, the sum over the
workers' files), then the database's facts when an engine is given."""

from __future__ import annotations

import hmac

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.telemetry import multiprocess
from mas.adapters.telemetry.facts import FactsCollector, read_facts

CONTENT_TYPE = "text/plain; version=0.0.4"
"""What ``generate_latest`` writes (the classic text format every Prometheus reads); UTF-8."""


def token_matches(configured: str, authorization: str | None) -> bool:
    """``Authorization: Bearer <configured>``, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not configured:
        return False
    return hmac.compare_digest(given.strip().encode(), configured.encode())


async def scrape(engine: AsyncEngine | None, fact_timeout_s: float = 2.0) -> bytes:
    if multiprocess.active():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if engine is None:
        return body
    facts = await read_facts(engine, fact_timeout_s)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FactsCollector(facts))
    notes = "".join(
        f"# mas_fact_up{{fact={name!r}}} 0: {error.replace(chr(10), ' ')}\n"
        for name, error in sorted(facts.errors.items())
    )
    return body + generate_latest(registry) + notes.encode()
