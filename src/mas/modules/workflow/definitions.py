"""The workflow manifest's definitions part: its tables, repositories, routes, and how its services
are built."""

from __future__ import annotations

from typing import Any

from mas.core.workflow.definitions import DefinitionsPorts, DefinitionsServices, build_definitions
from mas.modules.container import Container

TABLES: list[str] = []  # e.g. "mas.adapters.db.workflow.definitions_tables"
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> DefinitionsServices:
    return build_definitions(DefinitionsPorts(uow=c.uow, clock=c.clock))
