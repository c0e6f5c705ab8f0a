"""Tasks of the topology fault test (``mas worker|scheduler --import tests.nats.topology_tasks``).

``probe.effect`` is a task as every task must be: idempotent. Each time its body runs it appends
``key pid time`` to ``<path>.runs`` (how often, and where, the body ran); its effect, the same
line in ``<path>``, is written once per key. Two overlapping runs of one key (a broken lease)
would both find the key absent and write it twice. ``probe.tick`` is the test's cron: its run
in the job ledger, keyed ``cron:probe.tick:<tick>``, is the row each tick leaves.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import msgspec

from tests.taskprobe import probe, probe_module


class Effect(msgspec.Struct, frozen=True):
    path: str
    key: str
    sleep_s: float = 0.0


def _append(path: Path, line: str) -> None:
    # One write of a short line to a file opened for appending: lines from several processes
    # never interleave.
    with path.open("a") as handle:
        handle.write(line + "\n")


@probe("probe.effect", Effect, attempts=5, backoff_s=0.2, max_backoff_s=2, timeout_s=4)
async def effect(_: Any, message: Effect) -> None:
    """Record the run, wait, then write the effect unless this key already has it."""
    line = f"{message.key} {os.getpid()} {time.time():.6f}"
    _append(Path(message.path + ".runs"), line)
    await asyncio.sleep(message.sleep_s)
    _write_once(Path(message.path), message.key, line)


def _write_once(path: Path, key: str, line: str) -> None:
    if path.exists() and any(row.split(" ", 1)[0] == key for row in path.read_text().splitlines()):
        return
    _append(path, line)


@probe("probe.tick", attempts=3, backoff_s=0.2, timeout_s=3)
async def tick(_: Any, __: Any) -> None:
    """The cron's run is its record (``job_runs``)."""


MODULE = probe_module("topology", effect, tick)
