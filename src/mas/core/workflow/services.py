"""The workflow domain's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.workflow.definitions import DefinitionsServices
from mas.core.workflow.hire import HireServices
from mas.core.workflow.runs import RunsServices


@dataclass(frozen=True)
class WorkflowServices:
    definitions: DefinitionsServices
    runs: RunsServices
    hire: HireServices
