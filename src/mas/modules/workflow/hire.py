"""The workflow manifest's hire part: its tables, repositories, routes, and how its services
are built."""

from __future__ import annotations

from typing import Any

from mas.core.workflow.hire import HirePorts, HireServices, build_hire
from mas.modules.container import Container

TABLES: list[str] = []  # e.g. "mas.adapters.db.workflow.hire_tables"
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> HireServices:
    return build_hire(HirePorts(uow=c.uow, clock=c.clock))
