"""The production topology under faults (``tests/nats/topology.py``): two API processes, two
workers and two schedulers on PostgreSQL and NATS JetStream, a steady mixed load, and kill -9 of
a worker, an API process and the scheduler holding the lease, each restarted at once.

Nothing accepted is lost, no task body runs twice except the redelivery of what the killed
worker held, every cron second fires exactly once across the leader's death, no dead letters,
and clients see errors only for requests in flight inside the killed API process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.nats.topology import Plan, run_topology

pytestmark = [pytest.mark.nats, pytest.mark.timeout(240)]


async def test_killing_one_of_each_role_loses_nothing(
    nats_url: str, pg_url: str | None, tmp_path: Path
) -> None:
    from tests.conftest import missing_service, truncate_pg

    if pg_url is None:
        missing_service("PostgreSQL (MAS_TEST_PG_URL)")
    assert pg_url is not None
    await truncate_pg(pg_url)
    try:
        report: dict[str, Any] = await run_topology(pg_url, nats_url, tmp_path, Plan())
    finally:
        await truncate_pg(pg_url)
    logs = report.pop("logs", "")
    print(json.dumps(report, indent=2))
    assert report["violations"] == [], logs

    requests = report["requests"]
    for kind in ("sign_in", "lead", "import_commit", "job"):
        assert requests[kind]["accepted"] >= 3, (kind, requests)
    assert report["effects"]["imported_leads"] > 0
    assert report["effects"]["events_received"] >= 20
    assert set(report["recovery_s"]) == {"api", "worker", "scheduler"}
    # The next tick after the leader died comes once its lease (3 s) has lapsed, no later
    # than a few scheduler intervals after that (a loaded machine).
    assert report["recovery_s"]["scheduler"] < Plan().scheduler_lease_s + 6
