"""A dry run of a workflow on one lead (``POST /api/admin/workflows/{id}/test``): the path it
would take and the messages it would send, placeholders filled — nothing sent, nothing written.

It walks the published version (the draft when nothing is published yet) from the node after
the trigger. What the simulation cannot know it assumes, and says so in ``assumptions``: a send
the lead has a contact for is DELIVERED, a call's outcome is the one asked for (else ``TIMEOUT``
when the node waits for it), and waits pass (``days_since_enrolled`` grows by each wait's days).
``update_lead`` changes the simulated lead only, so a later branch sees the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

import msgspec

from mas.core.platform.errors import NotFound, ValidationFailed
from mas.core.platform.ports.ai_calls import AiCallOutcome
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.workflow.definitions.conditions import evaluate
from mas.core.workflow.definitions.graph import (
    AiCallNode,
    BranchNode,
    EndNode,
    Graph,
    SendEmailNode,
    SendSmsNode,
    SendWhatsappNode,
    TriggerNode,
    UpdateLeadNode,
    WaitNode,
    load_graph,
    node_type,
    parse_graph,
)
from mas.core.workflow.definitions.placeholders import render
from mas.core.workflow.runs.intake import VersionLookup, WorkflowLookup
from mas.core.workflow.runs.model import LeadFacts

MAX_STEPS = 200


class SimulationRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lead_id: uuid.UUID
    call_outcome: AiCallOutcome | None = None
    """The outcome an ``ai_call`` node gets (default: ``TIMEOUT`` when it waits for one)."""


class SimulatedMessage(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    """email, whatsapp, sms or ai_call."""
    to: str | None
    template: str | None = None
    language: str | None = None
    body: str | None = None
    params: list[str] = []
    variables: dict[str, str] = {}
    data: dict[str, str] = {}
    """The placeholder values an email template is rendered with."""


class SimulatedStep(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str
    node_type: str
    outcome: str
    """SENT, SKIPPED, WAITED, CALLED, BRANCHED, UPDATED, ENDED."""
    reason: str | None = None
    handle: str | None = None
    wait: str | None = None
    message: SimulatedMessage | None = None
    lead_change: dict[str, Any] | None = None


class Simulation(msgspec.Struct, frozen=True, kw_only=True):
    workflow_id: uuid.UUID
    version: int | None
    """The published version walked; None: the draft."""
    lead_id: uuid.UUID
    steps: list[SimulatedStep]
    path: list[str]
    assumptions: list[str]


class SimulatedLead(msgspec.Struct, frozen=True, kw_only=True):
    facts: LeadFacts
    tags: list[str]
    owner_name: str | None
    owner_phone: str | None


class LeadLookup(Protocol):
    async def simulated_lead(self, lead_id: uuid.UUID) -> SimulatedLead | None:
        """A live lead with its tags and its owner's name and phone (None when absent)."""
        ...


class SimulationUnitOfWork(UnitOfWork, Protocol):
    workflows: WorkflowLookup
    workflow_versions: VersionLookup
    workflow_history: LeadLookup


def placeholder_values(lead: SimulatedLead) -> dict[str, str]:
    name = lead.facts.name.strip()
    return {
        "lead.name": name,
        "lead.first_name": name.split()[0] if name else "",
        "lead.course_interest": lead.facts.course_interest or "",
        "owner.name": lead.owner_name or "",
        "owner.phone": lead.owner_phone or "",
    }


def _wait_text(node: WaitNode) -> tuple[str, int]:
    delay = node.data.delay()
    if delay is None:
        return f"until {node.data.until_time}", 1
    return f"{node.data.amount} {node.data.unit}", delay // timedelta(days=1)


class _Walk:
    def __init__(self, lead: SimulatedLead, call_outcome: str | None) -> None:
        self.lead = lead
        self.call_outcome = call_outcome
        self.values = placeholder_values(lead)
        self.status = lead.facts.status
        self.tags = list(lead.tags)
        self.email_status: str | None = None
        self.whatsapp_status: str | None = None
        self.call: str | None = None
        self.days = 0

    def facts(self) -> Mapping[str, Any]:
        return {
            "lead.status": self.status,
            "lead.tags": self.tags,
            "lead.source": self.lead.facts.source,
            "lead.course_interest": self.lead.facts.course_interest,
            "lead.assigned": self.lead.facts.assigned,
            "email.status": self.email_status,
            "whatsapp.status": self.whatsapp_status,
            "call.outcome": self.call,
            "days_since_enrolled": self.days,
        }

    def step(self, node: Any) -> tuple[SimulatedStep, str | None]:
        """The node's simulated step and the handle it leaves by."""
        kind = node_type(node)
        base = {"node_id": node.id, "node_type": kind}
        lead = self.lead.facts
        if isinstance(node, WaitNode):
            text, days = _wait_text(node)
            self.days += days
            return SimulatedStep(**base, outcome="WAITED", wait=text), None
        if isinstance(node, SendEmailNode):
            if not lead.email:
                self.email_status = None
                return SimulatedStep(**base, outcome="SKIPPED", reason="NO_EMAIL"), None
            self.email_status = "DELIVERED"
            message = SimulatedMessage(
                channel="email", to=lead.email, template=node.data.template_key, data=self.values
            )
            return SimulatedStep(**base, outcome="SENT", message=message), None
        if isinstance(node, SendWhatsappNode):
            if not lead.phone_e164:
                self.whatsapp_status = None
                return SimulatedStep(**base, outcome="SKIPPED", reason="NO_PHONE"), None
            self.whatsapp_status = "DELIVERED"
            message = SimulatedMessage(
                channel="whatsapp",
                to=lead.phone_e164,
                template=node.data.template_name,
                language=node.data.language,
                params=[render(param, self.values) for param in node.data.params],
            )
            return SimulatedStep(**base, outcome="SENT", message=message), None
        if isinstance(node, SendSmsNode):
            if not lead.phone_e164:
                return SimulatedStep(**base, outcome="SKIPPED", reason="NO_PHONE"), None
            message = SimulatedMessage(
                channel="sms", to=lead.phone_e164, body=render(node.data.body, self.values)
            )
            return SimulatedStep(**base, outcome="SENT", message=message), None
        if isinstance(node, AiCallNode):
            if not lead.phone_e164:
                self.call = "FAILED"
                return SimulatedStep(**base, outcome="SKIPPED", reason="NO_PHONE"), None
            self.call = self.call_outcome or ("TIMEOUT" if node.data.wait_for_outcome else None)
            message = SimulatedMessage(
                channel="ai_call",
                to=lead.phone_e164,
                template=node.data.agent_ref,
                variables={k: render(v, self.values) for k, v in node.data.variables.items()},
            )
            return SimulatedStep(**base, outcome="CALLED", message=message), None
        if isinstance(node, BranchNode):
            handle = "yes" if evaluate(node.data, self.facts()) else "no"
            return SimulatedStep(**base, outcome="BRANCHED", handle=handle), handle
        if isinstance(node, UpdateLeadNode):
            data = node.data
            self.tags = sorted(
                (set(self.tags) | {t.lower() for t in data.add_tags})
                - {t.lower() for t in data.remove_tags}
            )
            if data.set_status is not None:
                self.status = str(data.set_status)
            change = msgspec.to_builtins(data)
            return SimulatedStep(**base, outcome="UPDATED", lead_change=change), None
        if isinstance(node, EndNode | TriggerNode):
            return SimulatedStep(**base, outcome="ENDED"), None
        raise ValueError(f"node type {kind!r} has no simulation")


def simulate(graph: Graph, lead: SimulatedLead, call_outcome: str | None) -> list[SimulatedStep]:
    """Walk ``graph`` for ``lead`` (see the module)."""
    walk = _Walk(lead, call_outcome)
    steps: list[SimulatedStep] = []
    at = graph.first()
    while at is not None and len(steps) < MAX_STEPS:
        step, handle = walk.step(graph.nodes[at])
        steps.append(step)
        if step.outcome == "ENDED":
            break
        at = graph.next(at, handle)
    return steps


ASSUMPTIONS = [
    "a send the lead has a contact for is DELIVERED",
    "a call's outcome is call_outcome, else TIMEOUT when the node waits for one",
    "every wait passes; days_since_enrolled grows by each wait's whole days",
    "update_lead changes the simulated lead only",
]


class Simulator:
    def __init__(self, *, uow: UnitOfWorkFactory[SimulationUnitOfWork]) -> None:
        self._uow = uow

    async def run(self, workflow_id: uuid.UUID, request: SimulationRequest) -> Simulation:
        async with self._uow() as uow:
            workflow = await uow.workflows.get(workflow_id)
            if workflow is None:
                raise NotFound("workflow not found", code="workflow_not_found")
            version = None
            if workflow.published_version is not None:
                stored = await uow.workflow_versions.get(workflow.id, workflow.published_version)
                if stored is None:
                    raise RuntimeError(f"workflow {workflow.id} lost its published version")
                graph = load_graph(stored.graph)
                version = stored.version
            else:
                parsed, issues = parse_graph(workflow.draft_graph)
                if parsed is None or issues:
                    raise ValidationFailed(
                        "the draft graph is not valid; validate it first", code="invalid_graph"
                    )
                graph = parsed
            lead = await uow.workflow_history.simulated_lead(request.lead_id)
            if lead is None:
                raise NotFound("lead not found", code="lead_not_found")
        steps = simulate(graph, lead, request.call_outcome)
        return Simulation(
            workflow_id=workflow_id,
            version=version,
            lead_id=request.lead_id,
            steps=steps,
            path=[step.node_id for step in steps],
            assumptions=ASSUMPTIONS,
        )
