"""The workflow manifest's runs part: its tables, repositories, routes, and how its services
are built."""

from __future__ import annotations

from typing import Any

from mas.core.workflow.runs import RunsPorts, RunsServices, build_runs
from mas.modules.container import Container

TABLES: list[str] = []  # e.g. "mas.adapters.db.workflow.runs_tables"
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> RunsServices:
    return build_runs(RunsPorts(uow=c.uow, clock=c.clock))
