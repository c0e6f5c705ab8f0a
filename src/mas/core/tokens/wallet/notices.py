"""What token governance tells people (tokens-earnings.md §6, ``tokens.allotment_notifications``
and the allotment expiry): the batch lead on a new request, the student on a decision
(approved or rejected) and on expiry — an in-app notification and an email each.

Written through the ``Messenger`` in the unit of work that makes the change, so a notice exists
exactly when its change committed; both keys are the request's id and status (the notification's
dedupe key, the email's idempotency key), so a replay writes nothing twice. The system mails
are code templates (``MAIL_TEMPLATES``, declared by the tokens manifest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, Messenger, RenderedEmail
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.wallet.model import AllotmentRequest, AllotmentStatus
from mas.core.tokens.wallet.ports import Contact, WalletUnitOfWork

REQUESTED = "tokens.allotment_requested"
DECIDED = "tokens.allotment_decided"
CATEGORY = "PAYMENT"

_OUTCOME = {
    AllotmentStatus.APPROVED: "was approved: the tokens are in your wallet",
    AllotmentStatus.REJECTED: "was rejected",
    AllotmentStatus.EXPIRED: "expired without a decision after 14 days",
}


def _tokens(data: Mapping[str, Any]) -> str:
    count = int(data["tokens"])
    return f"{count} {str(data['kind']).lower()} token{'s' if count != 1 else ''}"


def requested(data: Mapping[str, Any]) -> RenderedEmail:
    return RenderedEmail(
        subject=f"{data['student_name']} asks for {_tokens(data)}",
        text=f"Hi {data['name']},\n\n{data['student_name']} asked for {_tokens(data)} "
        f"in a batch you lead.\nReason: {data['reason']}\n\n"
        "Approve or reject it from your token requests.\n",
    )


def decided(data: Mapping[str, Any]) -> RenderedEmail:
    outcome = _OUTCOME.get(AllotmentStatus(str(data["status"])), "was closed")
    note = str(data.get("note") or "")
    return RenderedEmail(
        subject=f"Your request for {_tokens(data)} {outcome.split(':')[0]}",
        text=f"Hi {data['name']},\n\nYour request for {_tokens(data)} {outcome}.\n"
        + (f"Note: {note}\n" if note else ""),
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {REQUESTED: requested, DECIDED: decided}


class AllotmentNotices:
    def __init__(self, messenger: Messenger) -> None:
        self._messenger = messenger

    async def requested(self, uow: WalletUnitOfWork, request: AllotmentRequest) -> None:
        """Tell the batch lead (if the batch has one) about a new PENDING request."""
        if request.batch_lead_id is None:
            return
        people = await uow.token_allotments.contacts([request.student_id, request.batch_lead_id])
        lead = people.get(request.batch_lead_id)
        if lead is None:
            return
        student = people.get(request.student_id)
        data = {
            **_about(request),
            "name": lead.name,
            "student_name": student.name if student is not None else "A student",
            "reason": request.reason,
        }
        await self._send(uow, lead, request, REQUESTED, data, "New token request")

    async def decided(self, uow: WalletUnitOfWork, requests: list[AllotmentRequest]) -> None:
        """Tell each student the outcome of their request (approved, rejected, expired)."""
        people = await uow.token_allotments.contacts([r.student_id for r in requests])
        for request in requests:
            student = people.get(request.student_id)
            if student is None:
                continue
            data = {**_about(request), "name": student.name, "note": request.decision_note or ""}
            title = f"Token request {request.status.value.lower()}"
            await self._send(uow, student, request, DECIDED, data, title)

    async def _send(
        self,
        uow: UnitOfWork,
        to: Contact,
        request: AllotmentRequest,
        template: str,
        data: dict[str, Any],
        title: str,
    ) -> None:
        key = f"{template}:{request.id}:{request.status.value}"
        rendered = MAIL_TEMPLATES[template](data)
        await self._messenger.notify(
            uow,
            to.id,
            CATEGORY,
            title,
            rendered.subject,
            dedupe_key=key,
            data={"allotment_request_id": str(request.id), "status": request.status.value},
        )
        await self._messenger.email(
            uow,
            template=template,
            to=to.email,
            data=data,
            key=key,
            related=("token_allotment_request", request.id),
        )


def _about(request: AllotmentRequest) -> dict[str, Any]:
    return {
        "tokens": request.tokens_requested,
        "kind": request.token_kind.value,
        "status": request.status.value,
    }
