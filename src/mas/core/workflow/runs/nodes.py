"""What one node does (workflow.md §4, §10), given the locked enrollment and its lead.

Each ``run_*`` returns a ``NodeResult``: the node run's status and output, the branch handle
taken, how the enrollment waits (for a wait or an outcome) and the context the enrollment
keeps for later branches (``email``, ``whatsapp``, ``sms``, ``call``). Sends go through the
messenger and calls through the AI caller with the step's side-effect key, so a redelivered
step cannot send twice. A failure is an exception: ``Transient`` (retried by the engine) or a
``DomainError`` (the node fails at once).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mas.core.platform.events import DomainEvent
from mas.core.platform.ports.ai_calls import AiCaller, AiCallOutcome
from mas.core.platform.ports.messenger import Messenger
from mas.core.workflow.definitions import conditions, placeholders
from mas.core.workflow.definitions.graph import (
    NO,
    YES,
    AiCallNode,
    BranchNode,
    Node,
    SendEmailNode,
    SendSmsNode,
    SendWhatsappNode,
    UpdateLeadNode,
    WaitNode,
)
from mas.core.workflow.definitions.window import next_time_of_day
from mas.core.workflow.model import NodeRunStatus
from mas.core.workflow.runs.model import LeadChange, LeadFacts, WaitingFor
from mas.core.workflow.runs.ports import RunsUnitOfWork

SKIPPED = "SKIPPED"
QUEUED = "QUEUED"
CHANNEL_FIELDS = {"email.status": "email", "whatsapp.status": "whatsapp", "call.outcome": "call"}
"""Branch fields that read a send's result: a skipped send makes a branch on it take ``no``."""


@dataclass
class NodeResult:
    status: NodeRunStatus
    output: dict[str, Any] = field(default_factory=dict)
    handle: str | None = None
    waiting_for: WaitingFor | None = None
    next_run_at: datetime | None = None
    call_id: str | None = None
    context: dict[str, Any] | None = None
    events: list[DomainEvent] = field(default_factory=list)


@dataclass(frozen=True)
class StepInput:
    """Everything a node reads: the enrollment's key facts, its lead and its context."""

    enrollment_id: uuid.UUID
    started_at: datetime
    attempt: int
    lead: LeadFacts
    context: Mapping[str, Any]
    zone: str
    now: datetime

    def key(self, node_id: str) -> str:
        return f"wf:{self.enrollment_id}:{node_id}:{self.attempt}"


@dataclass(frozen=True)
class NodeTools:
    messenger: Messenger
    ai_caller: AiCaller


def with_context(context: Mapping[str, Any], name: str, value: dict[str, Any]) -> dict[str, Any]:
    updated = dict(context)
    updated[name] = value
    return updated


async def placeholder_values(uow: RunsUnitOfWork, lead: LeadFacts) -> dict[str, str]:
    first = lead.name.split()[0] if lead.name.split() else ""
    values = {
        "lead.name": lead.name,
        "lead.first_name": first,
        "lead.course_interest": lead.course_interest or "",
    }
    if lead.owner_id is not None:
        owner = await uow.workflow_leads.owner(lead.owner_id)
        if owner is not None:
            values["owner.name"], values["owner.phone"] = owner[0], owner[1] or ""
    return values


def wait_until(node: WaitNode, step: StepInput) -> datetime:
    delay = node.data.delay()
    if delay is not None:
        return step.now + delay
    if node.data.until_time is None:  # publish refuses this; a stored graph is trusted
        raise ValueError(f"wait node {node.id!r} has neither a delay nor a time")
    return next_time_of_day(node.data.until_time, step.zone, step.now)


async def run_node(
    uow: RunsUnitOfWork, tools: NodeTools, node: Node, step: StepInput
) -> NodeResult:
    """Execute ``node`` once (its first run, not a resumption)."""
    if isinstance(node, WaitNode):
        until = wait_until(node, step)
        return NodeResult(
            NodeRunStatus.WAITING,
            {"until": until.isoformat()},
            waiting_for=WaitingFor.TIMER,
            next_run_at=until,
        )
    if isinstance(node, SendEmailNode):
        return await _email(uow, tools, node, step)
    if isinstance(node, SendWhatsappNode):
        return await _whatsapp(uow, tools, node, step)
    if isinstance(node, SendSmsNode):
        return await _sms(uow, tools, node, step)
    if isinstance(node, AiCallNode):
        return await _call(uow, tools, node, step)
    if isinstance(node, BranchNode):
        return await _branch(uow, node, step)
    if isinstance(node, UpdateLeadNode):
        change = lead_change(node)
        events = await uow.workflow_leads.apply(step.lead.id, change, at=step.now)
        return lead_updated(change, events)
    return NodeResult(NodeRunStatus.SUCCEEDED)  # trigger, end


def lead_change(node: UpdateLeadNode) -> LeadChange:
    return LeadChange(
        add_tags=list(node.data.add_tags),
        remove_tags=list(node.data.remove_tags),
        set_status=node.data.set_status,
    )


def lead_updated(change: LeadChange, events: list[DomainEvent]) -> NodeResult:
    return NodeResult(
        NodeRunStatus.SUCCEEDED, {"change": msgspec.to_builtins(change)}, events=events
    )


def _skipped(step: StepInput, channel: str, reason: str) -> NodeResult:
    context = with_context(step.context, channel, {"id": None, "status": SKIPPED})
    return NodeResult(NodeRunStatus.SKIPPED, {"reason": reason}, context=context)


def _sent(step: StepInput, channel: str, message_id: uuid.UUID, key: str) -> NodeResult:
    context = with_context(step.context, channel, {"id": str(message_id), "status": QUEUED})
    output = {"message_id": str(message_id), "key": key}
    return NodeResult(NodeRunStatus.SUCCEEDED, output, context=context)


async def _email(
    uow: RunsUnitOfWork, tools: NodeTools, node: SendEmailNode, step: StepInput
) -> NodeResult:
    if not step.lead.email:
        return _skipped(step, "email", "NO_EMAIL")
    values = await placeholder_values(uow, step.lead)
    data = {
        "lead": {
            "name": values["lead.name"],
            "first_name": values["lead.first_name"],
            "course_interest": values["lead.course_interest"],
            "email": step.lead.email,
        },
        "owner": {"name": values.get("owner.name", ""), "phone": values.get("owner.phone", "")},
    }
    key = step.key(node.id)
    message_id = await tools.messenger.email(
        uow,
        template=node.data.template_key,
        to=step.lead.email,
        data=data,
        key=key,
        related=("raw_lead", step.lead.id),
    )
    return _sent(step, "email", message_id, key)


async def _whatsapp(
    uow: RunsUnitOfWork, tools: NodeTools, node: SendWhatsappNode, step: StepInput
) -> NodeResult:
    if not step.lead.phone_e164:
        return _skipped(step, "whatsapp", "NO_PHONE")
    values = await placeholder_values(uow, step.lead)
    key = step.key(node.id)
    message_id = await tools.messenger.whatsapp(
        uow,
        to=step.lead.phone_e164,
        template=node.data.template_name,
        language=node.data.language,
        params=[placeholders.render(p, values) for p in node.data.params],
        audience="LEAD",
        ref=step.lead.id,
        key=key,
    )
    return _sent(step, "whatsapp", message_id, key)


async def _sms(
    uow: RunsUnitOfWork, tools: NodeTools, node: SendSmsNode, step: StepInput
) -> NodeResult:
    if not step.lead.phone_e164:
        return _skipped(step, "sms", "NO_PHONE")
    values = await placeholder_values(uow, step.lead)
    key = step.key(node.id)
    message_id = await tools.messenger.sms(
        uow,
        to=step.lead.phone_e164,
        body=placeholders.render(node.data.body, values),
        key=key,
        related=("raw_lead", step.lead.id),
    )
    return _sent(step, "sms", message_id, key)


async def _call(
    uow: RunsUnitOfWork, tools: NodeTools, node: AiCallNode, step: StepInput
) -> NodeResult:
    if not step.lead.phone_e164:
        context = with_context(step.context, "call", {"id": None, "outcome": SKIPPED})
        return NodeResult(NodeRunStatus.SKIPPED, {"reason": "NO_PHONE"}, context=context)
    values = await placeholder_values(uow, step.lead)
    key = step.key(node.id)
    handle = await tools.ai_caller.place_call(
        lead_id=step.lead.id,
        phone_e164=step.lead.phone_e164,
        agent_ref=node.data.agent_ref,
        variables={k: placeholders.render(v, values) for k, v in node.data.variables.items()},
        idempotency_key=key,
    )
    context = with_context(step.context, "call", {"id": handle.call_id, "outcome": None})
    output = {"call_id": handle.call_id, "key": key}
    if not node.data.wait_for_outcome:
        return NodeResult(NodeRunStatus.SUCCEEDED, output, context=context)
    return NodeResult(
        NodeRunStatus.WAITING,
        output,
        waiting_for=WaitingFor.CALL,
        next_run_at=step.now + timedelta(minutes=node.data.timeout_minutes),
        call_id=handle.call_id,
        context=context,
    )


def call_outcome(context: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A resumed ``ai_call``: the outcome the event wrote, else ``TIMEOUT``."""
    call = dict(context.get("call") or {})
    outcome = call.get("outcome") or AiCallOutcome.TIMEOUT.value
    call["outcome"] = outcome
    return outcome, call


async def _branch(uow: RunsUnitOfWork, node: BranchNode, step: StepInput) -> NodeResult:
    fields = {c.field.value for c in node.data.conditions}
    for name in fields:
        channel = CHANNEL_FIELDS.get(name)
        sent = step.context.get(channel) if channel else None
        if isinstance(sent, dict) and SKIPPED in (sent.get("status"), sent.get("outcome")):
            return NodeResult(
                NodeRunStatus.SUCCEEDED, {"handle": NO, "reason": f"{channel} skipped"}, handle=NO
            )
    facts = await branch_facts(uow, step, with_tags="lead.tags" in fields)
    handle = YES if conditions.evaluate(node.data, facts) else NO
    shown = {k: v for k, v in facts.items() if k in fields}
    return NodeResult(NodeRunStatus.SUCCEEDED, {"handle": handle, "facts": shown}, handle=handle)


async def branch_facts(uow: RunsUnitOfWork, step: StepInput, *, with_tags: bool) -> dict[str, Any]:
    lead = step.lead
    context = step.context
    facts: dict[str, Any] = {
        "lead.status": lead.status,
        "lead.source": lead.source,
        "lead.course_interest": lead.course_interest,
        "lead.assigned": lead.assigned,
        "email.status": (context.get("email") or {}).get("status"),
        "whatsapp.status": (context.get("whatsapp") or {}).get("status"),
        "call.outcome": (context.get("call") or {}).get("outcome"),
        "days_since_enrolled": (step.now - step.started_at).days,
    }
    if with_tags:
        facts["lead.tags"] = await uow.workflow_leads.tags(lead.id)
    return facts
