"""The domain's tasks, crons and subscriptions: each part's, bound to the domain's services."""

from __future__ import annotations

from typing import Any

from mas.core.platform.events import Subscription, lift_subscriptions
from mas.core.platform.tasking import Handler, Task, lift_handlers
from mas.core.workflow import definitions, hire, runs
from mas.core.workflow.services import WorkflowServices

PARTS = {"definitions": definitions, "runs": runs, "hire": hire}

HANDLERS: list[Handler[WorkflowServices, Any]] = [
    h for name, part in PARTS.items() for h in lift_handlers(name, part.HANDLERS)
]
CRONS: dict[Task[Any], str] = {t: e for part in PARTS.values() for t, e in part.CRONS.items()}
SUBSCRIPTIONS: list[Subscription[WorkflowServices, Any]] = [
    s for name, part in PARTS.items() for s in lift_subscriptions(name, part.SUBSCRIPTIONS)
]
