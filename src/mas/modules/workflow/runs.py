"""The workflow manifest's runs part: its tables, repositories, routes, and how its services
are built."""

from __future__ import annotations

import uuid
from typing import Any

from mas.adapters.bus.taskiq import TaskiqQueue
from mas.adapters.db.workflow.history import SqlWorkflowHistory
from mas.adapters.db.workflow.runs import SqlEnrollmentRepository
from mas.adapters.db.workflow.runs_leads import SqlWorkflowLeads
from mas.adapters.db.workflow.segments import SqlWorkflowIntake
from mas.adapters.fakes.platform import FakeAiCaller
from mas.core.platform.ports.ai_calls import AiCallHandle, AiCallOutcome
from mas.core.platform.tasking import PermanentFailure
from mas.core.workflow.runs import RunsPorts, RunsServices, build_runs
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.workflow.runs_tables"]
REPOSITORIES: dict[str, Any] = {
    "workflow_enrollments": SqlEnrollmentRepository,
    "workflow_leads": SqlWorkflowLeads,
    "workflow_intake": SqlWorkflowIntake,
    "workflow_history": SqlWorkflowHistory,
}
CONTROLLERS: list[str] = [
    "mas.http.workflow.enrollments:EnrollmentController",
    "mas.http.workflow.runs:EnrollmentRunController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> RunsServices:
    return build_runs(
        RunsPorts(
            uow=c.uow,
            clock=c.clock,
            # Steps carry their own payload (ledger-less): the enrollment row is their ledger.
            queue=TaskiqQueue(c.broker),
            messenger=c.messenger,
            ai_caller=ai_caller(c),
            # A worker on JetStream runs concurrent steps as one transaction (group commit);
            # the in-memory broker runs each as it comes.
            step_batch=c.settings.workflow_step_batch if c.settings.broker == "nats" else 0,
            step_linger_s=c.settings.workflow_step_linger_ms / 1000,
            step_batches=c.settings.workflow_step_batches,
        )
    )


def ai_caller(c: Container) -> Any:
    """The AI caller: Mr. Hire's voice domain will provide the real one (``c.ai_caller``).
    Until a domain provides it: with ``MAS_AI_CALLER=fake`` the in-process fake (calls are
    recorded, never placed; tests complete them with ``FakeAiCaller.complete``), otherwise a
    caller that refuses, so an ``ai_call`` node fails visibly instead of pretending."""
    provided = c.ports.get("ai_caller")
    if provided is not None:
        return provided
    return FakeAiCaller() if c.settings.ai_caller == "fake" else UnconfiguredAiCaller()


class UnconfiguredAiCaller:
    """``AiCaller`` when nobody places AI calls: every call fails the node for good (an admin
    retries the enrollment once a caller is configured)."""

    async def place_call(
        self,
        *,
        lead_id: uuid.UUID,
        phone_e164: str,
        agent_ref: str,
        variables: dict[str, str],
        idempotency_key: str,
    ) -> AiCallHandle:
        del lead_id, phone_e164, agent_ref, variables, idempotency_key
        raise PermanentFailure(NOT_CONFIGURED)

    async def fetch_outcome(self, call_id: str) -> AiCallOutcome | None:
        del call_id
        raise PermanentFailure(NOT_CONFIGURED)


NOT_CONFIGURED = "AI calling is not configured (no AI caller; MAS_AI_CALLER=fake for a demo)"


async def release_due(services: Any) -> int:
    """The manifest's due-time releaser: waiting enrollments whose time has come."""
    released: int = await services.runs.engine.release_due()
    return released


RELEASERS = [release_due]
