"""The workflow manifest: lead-nurture workflows (definitions and versions), their runs (the
engine), and Mr. Hire's workflow rules (workflow.md).

Split by part like finance's (``definitions``, ``runs``, ``hire``). Listed after the CRM (its
leads are what runs) and communications (every send goes through the messenger).
"""

from __future__ import annotations

from mas.core.workflow.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.workflow.services import WorkflowServices
from mas.modules.base import Module
from mas.modules.container import Container
from mas.modules.workflow import definitions, hire, runs

PARTS = (definitions, runs, hire)


def build(c: Container) -> WorkflowServices:
    return WorkflowServices(
        definitions=definitions.build(c),
        runs=runs.build(c),
        hire=hire.build(c),
    )


MODULE = Module(
    name="workflow",
    services=WorkflowServices,
    build=build,
    tables=[ref for part in PARTS for ref in part.TABLES],
    repositories={name: repo for part in PARTS for name, repo in part.REPOSITORIES.items()},
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    controllers=[ref for part in PARTS for ref in part.CONTROLLERS],
    mail_templates={name: t for part in PARTS for name, t in part.MAIL_TEMPLATES.items()},
    cli={"workflows": "mas.cli.workflow:app"},
    releasers=runs.RELEASERS,
)
