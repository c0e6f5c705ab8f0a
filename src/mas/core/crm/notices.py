"""Emails of the assignment domain, sent through the messenger in the transaction of the change.

Each notice is a code template (``MAIL_TEMPLATES``, declared in the CRM's manifest with the
follow-up digest): a pure function from plain data to the rendered mail, greeting included.
The senders below pass that data with a dedupe key (request and status, request and assignee,
...) as the messenger's idempotency key: a replayed job, a retried transaction or a concurrent
one finds the key taken and writes nothing, so each person gets each notice exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.crm.assignment_model import BulkRequest, Person, Slot
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.platform.ports.messenger import MailTemplate, Messenger, RenderedEmail

SLOT_WORDS = {Slot.FIRST_LINE: "first line (telecalling)", Slot.SECOND_LINE: "second line"}

REQUEST_FILED = "crm.request_filed"
LEADS_ASSIGNED = "crm.leads_assigned"
POOL_RECEIVED = "crm.pool_received"

_OUTCOME = {
    "APPROVED": "was approved; the leads are being assigned",
    "REJECTED": "was rejected",
    "EXPIRED": "expired after 72 hours without a decision; file it again if it is still needed",
}


def decided_template(status: str) -> str:
    """The template of the requester's notice for a request that reached ``status``."""
    return f"crm.request_{status.lower()}"


# --- the code templates (data -> mail) -------------------------------------------------------


def _mail(data: Mapping[str, Any], subject: str, body: str) -> RenderedEmail:
    return RenderedEmail(subject=subject, text=f"Hello {data['name']},\n\n{body}")


def request_filed_email(data: Mapping[str, Any]) -> RenderedEmail:
    """To each admin: ``name``, ``requester``, ``lead_count``, ``slot``, ``strategy``,
    ``reason``, ``request_id``, ``expires_at`` (ISO)."""
    count = int(data["lead_count"])
    return _mail(
        data,
        f"Bulk assignment waiting for approval: {count} leads",
        f"{data['requester']} asks to assign {count} leads "
        f"({SLOT_WORDS[Slot(data['slot'])]}, {str(data['strategy']).lower()}).\n"
        f"Reason: {data['reason']}\nRequest: {data['request_id']}\n"
        f"It expires at {data['expires_at']} unless decided.",
    )


def _request_decided(status: str) -> MailTemplate:
    def template(data: Mapping[str, Any]) -> RenderedEmail:
        """To the requester: ``name``, ``lead_count``, ``request_id``, ``note`` (may be
        empty)."""
        note = f"\nNote: {data['note']}" if data.get("note") else ""
        return _mail(
            data,
            f"Your bulk assignment request {status.lower()}",
            f"Your request to assign {int(data['lead_count'])} leads "
            f"{_OUTCOME.get(status, status.lower())}.{note}\n"
            f"Request: {data['request_id']}",
        )

    return template


def leads_assigned_email(data: Mapping[str, Any]) -> RenderedEmail:
    """To an assignee: ``name``, ``count``, ``slot``, ``why``."""
    count = int(data["count"])
    noun = "lead was" if count == 1 else "leads were"
    return _mail(
        data,
        f"{count} new {'lead' if count == 1 else 'leads'} assigned to you",
        f"{count} {noun} assigned to you ({SLOT_WORDS[Slot(data['slot'])]}).\n{data['why']}\n"
        "Open your lead list to start.",
    )


def pool_received_email(data: Mapping[str, Any]) -> RenderedEmail:
    """To a sales head: ``name``, ``count``, ``reason``."""
    return _mail(
        data,
        f"{int(data['count'])} leads moved into your pool",
        f"An administrator moved {int(data['count'])} leads into your pool.\n"
        f"Reason: {data['reason']}",
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {
    REQUEST_FILED: request_filed_email,
    **{decided_template(s): _request_decided(s) for s in _OUTCOME},
    LEADS_ASSIGNED: leads_assigned_email,
    POOL_RECEIVED: pool_received_email,
}


# --- the senders ---------------------------------------------------------------------------


async def request_filed(
    messenger: Messenger,
    uow: CrmUnitOfWork,
    request: BulkRequest,
    requester: Person,
    admins: list[Person],
) -> None:
    for admin in admins:
        await messenger.email(
            uow,
            template=REQUEST_FILED,
            to=admin.email,
            data={
                "name": admin.label,
                "requester": requester.label,
                "lead_count": request.lead_count,
                "slot": request.slot.value,
                "strategy": request.strategy.value,
                "reason": request.reason,
                "request_id": str(request.id),
                "expires_at": request.expires_at.isoformat(),
            },
            key=f"crm.request:{request.id}:{request.status.value}:{admin.id}",
        )


async def request_decided(
    messenger: Messenger, uow: CrmUnitOfWork, request: BulkRequest, requester: Person
) -> None:
    await messenger.email(
        uow,
        template=decided_template(request.status.value),
        to=requester.email,
        data={
            "name": requester.label,
            "lead_count": request.lead_count,
            "request_id": str(request.id),
            "note": request.decision_note or "",
        },
        key=f"crm.request:{request.id}:{request.status.value}:{requester.id}",
    )


async def leads_assigned(
    messenger: Messenger,
    uow: CrmUnitOfWork,
    key: str,
    to: Person,
    count: int,
    slot: Slot,
    why: str,
) -> None:
    await messenger.email(
        uow,
        template=LEADS_ASSIGNED,
        to=to.email,
        data={"name": to.label, "count": count, "slot": slot.value, "why": why},
        key=key,
    )


async def pool_received(
    messenger: Messenger, uow: CrmUnitOfWork, key: str, head: Person, count: int, reason: str
) -> None:
    await messenger.email(
        uow,
        template=POOL_RECEIVED,
        to=head.email,
        data={"name": head.label, "count": count, "reason": reason},
        key=key,
    )
