"""The workflow manifest's definitions part: its tables, repositories, routes, and how its services
are built."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.workflow.definitions import (
    SqlWorkflowRepository,
    SqlWorkflowVersionRepository,
)
from mas.adapters.db.workflow.templates import SqlTemplateCatalog
from mas.core.workflow.definitions import DefinitionsPorts, DefinitionsServices, build_definitions
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.workflow.definitions_tables"]
REPOSITORIES: dict[str, Any] = {
    "workflows": SqlWorkflowRepository,
    "workflow_versions": SqlWorkflowVersionRepository,
}
CONTROLLERS: list[str] = ["mas.http.workflow.definitions:WorkflowDefinitionController"]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> DefinitionsServices:
    return build_definitions(
        DefinitionsPorts(
            uow=c.uow,
            clock=c.clock,
            templates=SqlTemplateCatalog(c.sessions, c.mail_templates),
        )
    )
