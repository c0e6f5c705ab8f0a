"""The engine's tasks: one node step (ledger-less: the enrollment row is its ledger) and the
sweeper that re-drives what a lost step left behind."""

from __future__ import annotations

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy
from mas.core.workflow.runs.model import StepRef

STEP: Task[StepRef] = Task(
    "workflow.step",
    StepRef,
    TaskPolicy(attempts=1, timeout_s=60.0),
    ledger=False,
)
SWEEPER: Task[NoArgs] = Task("workflow.sweeper", NoArgs, TaskPolicy(attempts=1, timeout_s=300.0))
