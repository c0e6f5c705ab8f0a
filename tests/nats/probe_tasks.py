"""Tasks the NATS tests run inside real ``mas worker`` processes (imported with ``--import``).

Each appends a line to a file, so the test can count how often a body really ran.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from mas.jobs.registry import task


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as handle:
        handle.write(line + "\n")


@task("probe.record", attempts=3, backoff_s=0.5, timeout_s=6)
async def record(c: Any, path: str, sleep_s: float = 0.0) -> None:
    """Sleep, then record one completed run."""
    await asyncio.sleep(sleep_s)
    _append(path, f"done {time.time()}")


@task("probe.fail", attempts=3, backoff_s=0.5, max_backoff_s=10, timeout_s=5)
async def fail(c: Any, path: str) -> None:
    """Record the attempt time, then fail."""
    _append(path, f"{time.time()}")
    raise RuntimeError("probe failure")
