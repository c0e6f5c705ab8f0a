"""Two ``mas scheduler`` processes: each cron tick fires once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from mas.core.platform.job_model import JobFilter
from mas.core.platform.paging import PageRequest
from tests.nats.conftest import Processes, wait_for

pytestmark = pytest.mark.nats


async def test_two_schedulers_fire_each_tick_once(producer: Any, procs: Processes) -> None:
    overrides = json.loads(procs.env["MAS_CRON_OVERRIDES"])
    overrides["platform.noop"] = "* * * * * *"  # every second (croniter's sixth field)
    procs.env["MAS_CRON_OVERRIDES"] = json.dumps(overrides)
    procs.start("scheduler", name="scheduler-a")
    procs.start("scheduler", name="scheduler-b")

    async def fired() -> Any:
        page = await producer.jobs.page(JobFilter(task="platform.noop"), PageRequest(1, 100))
        return page.total >= 5 and page

    await wait_for(fired, timeout=30, what="five cron ticks")
    await asyncio.sleep(1.5)
    procs.stop_all()
    page = await producer.jobs.page(JobFilter(task="platform.noop"), PageRequest(1, 100))
    keys = Counter(r.idempotency_key for r in page.items if r.status.value != "skipped")
    assert keys and all(count == 1 for count in keys.values()), keys
    skipped = [r for r in page.items if r.status.value == "skipped"]
    assert not skipped, "only the lease holder fires, so no tick is even offered twice"
    ticks = sorted(keys)
    assert all(key.startswith("cron:platform.noop:") for key in ticks)
    logs = procs.log_of("scheduler-a") + procs.log_of("scheduler-b")
    assert logs.count("leader=True") == 1, logs[-2000:]
