"""Emails of the assignment domain, written to the outbox in the transaction of the change.

``send_once`` gives the message a dedupe key (request and status, request and assignee, ...) as
its outbox idempotency key: a replayed job, a retried transaction or a concurrent one finds the
key taken and writes nothing, so each person gets each notice exactly once.
"""

from __future__ import annotations

from datetime import datetime

from mas.core.crm.assignment_model import BulkRequest, Person, Slot
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.platform.messages import OutboxMessage

SLOT_WORDS = {Slot.FIRST_LINE: "first line (telecalling)", Slot.SECOND_LINE: "second line"}


async def send_once(uow: CrmUnitOfWork, key: str, message: OutboxMessage) -> bool:
    """Queue ``message`` under ``key``; False when the key was used before (nothing written)."""
    message.idempotency_key = key
    return await uow.send(message) == message.id


def _mail(to: Person, subject: str, body: str, template: str, now: datetime) -> OutboxMessage:
    greeting = f"Hello {to.label},\n\n"
    return OutboxMessage.email(
        to=to.email, subject=subject, body_text=greeting + body, now=now, template=template
    )


async def request_filed(
    uow: CrmUnitOfWork, request: BulkRequest, requester: Person, admins: list[Person], now: datetime
) -> None:
    for admin in admins:
        await send_once(
            uow,
            f"crm.request:{request.id}:{request.status.value}:{admin.id}",
            _mail(
                admin,
                f"Bulk assignment waiting for approval: {request.lead_count} leads",
                f"{requester.label} asks to assign {request.lead_count} leads "
                f"({SLOT_WORDS[request.slot]}, {request.strategy.value.lower()}).\n"
                f"Reason: {request.reason}\nRequest: {request.id}\n"
                f"It expires at {request.expires_at.isoformat()} unless decided.",
                "crm.request_filed",
                now,
            ),
        )


_OUTCOME = {
    "APPROVED": "was approved; the leads are being assigned",
    "REJECTED": "was rejected",
    "EXPIRED": "expired after 72 hours without a decision; file it again if it is still needed",
}


async def request_decided(
    uow: CrmUnitOfWork, request: BulkRequest, requester: Person, now: datetime
) -> None:
    note = f"\nNote: {request.decision_note}" if request.decision_note else ""
    await send_once(
        uow,
        f"crm.request:{request.id}:{request.status.value}:{requester.id}",
        _mail(
            requester,
            f"Your bulk assignment request {request.status.value.lower()}",
            f"Your request to assign {request.lead_count} leads "
            f"{_OUTCOME.get(request.status.value, request.status.value.lower())}.{note}\n"
            f"Request: {request.id}",
            f"crm.request_{request.status.value.lower()}",
            now,
        ),
    )


async def leads_assigned(
    uow: CrmUnitOfWork, key: str, to: Person, count: int, slot: Slot, why: str, now: datetime
) -> None:
    noun = "lead was" if count == 1 else "leads were"
    await send_once(
        uow,
        key,
        _mail(
            to,
            f"{count} new {'lead' if count == 1 else 'leads'} assigned to you",
            f"{count} {noun} assigned to you ({SLOT_WORDS[slot]}).\n{why}\n"
            "Open your lead list to start.",
            "crm.leads_assigned",
            now,
        ),
    )


async def pool_received(
    uow: CrmUnitOfWork, key: str, head: Person, count: int, reason: str, now: datetime
) -> None:
    await send_once(
        uow,
        key,
        _mail(
            head,
            f"{count} leads moved into your pool",
            f"An administrator moved {count} leads into your pool.\nReason: {reason}",
            "crm.pool_received",
            now,
        ),
    )
