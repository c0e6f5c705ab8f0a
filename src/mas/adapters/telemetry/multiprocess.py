"""Several granian workers behind one port: each writes its samples to files in one directory
and a scrape, answered by any of them, sums them (prometheus_client's multi-process mode).

prometheus_client picks the mode when it is first imported (``PROMETHEUS_MULTIPROC_DIR``), so
``mas serve`` prepares the directory before it imports the app and before granian forks. The
directory belongs to one run: files a previous run left would count its requests again, so it
is emptied at start. This module imports nothing from prometheus_client for that reason.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsLoadedTooEarly(RuntimeError):
    """prometheus_client was imported before the directory was set: samples would stay local."""


def prepare(folder: Path) -> Path:
    """Empty ``folder`` (made if missing) and point this process and its children at it."""
    if "prometheus_client.values" in sys.modules and os.environ.get(ENV) != str(folder):
        raise MetricsLoadedTooEarly(
            "prometheus_client was imported before the multi-process directory was set"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink()
    os.environ[ENV] = str(folder)
    return folder


def active() -> bool:
    return bool(os.environ.get(ENV))


def mark_dead(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay: they are history)."""
    if active():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
