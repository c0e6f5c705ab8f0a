"""Tasks the NATS tests run inside real ``mas worker`` processes (imported with ``--import``).

Each appends a line to a file, so the test can count how often a body really ran.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import msgspec

from tests.taskprobe import probe, probe_module


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as handle:
        handle.write(line + "\n")


class Record(msgspec.Struct, frozen=True):
    path: str
    sleep_s: float = 0.0


class Fail(msgspec.Struct, frozen=True):
    path: str


@probe("probe.record", Record, attempts=3, backoff_s=0.5, timeout_s=6)
async def record(_: Any, message: Record) -> None:
    """Sleep, then record one completed run."""
    await asyncio.sleep(message.sleep_s)
    _append(message.path, f"done {time.time()}")


@probe("probe.fail", Fail, attempts=3, backoff_s=0.5, max_backoff_s=10, timeout_s=5)
async def fail(_: Any, message: Fail) -> None:
    """Record the attempt time, then fail."""
    _append(message.path, f"{time.time()}")
    raise RuntimeError("probe failure")


MODULE = probe_module("probe", record, fail)
