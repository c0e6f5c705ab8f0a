"""The earnings part's system mails (code templates; the messenger renders them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail
from mas.core.tokens.earnings.withdrawals import MAIL_COMPLETED, MAIL_FAILED, MAIL_REQUESTED


def rupees(paise: int) -> str:
    return f"₹{paise // 100:,}.{paise % 100:02d}"


def _requested(data: Mapping[str, Any]) -> RenderedEmail:
    amount = rupees(int(data["amount_paise"]))
    return RenderedEmail(
        subject=f"Withdrawal of {amount} requested",
        text=f"Hi {data['name']},\n\nWe received your request to withdraw {amount}. "
        "We will let you know when it is paid.\n",
    )


def _completed(data: Mapping[str, Any]) -> RenderedEmail:
    amount = rupees(int(data["amount_paise"]))
    return RenderedEmail(
        subject=f"Withdrawal of {amount} paid",
        text=f"Hi {data['name']},\n\nYour withdrawal of {amount} has been paid "
        f"(reference {data['reference']}).\n",
    )


def _failed(data: Mapping[str, Any]) -> RenderedEmail:
    amount = rupees(int(data["amount_paise"]))
    return RenderedEmail(
        subject=f"Withdrawal of {amount} failed",
        text=f"Hi {data['name']},\n\nYour withdrawal of {amount} could not be paid "
        f"({data['reason']}). The money is back in your available balance.\n",
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {
    MAIL_REQUESTED: _requested,
    MAIL_COMPLETED: _completed,
    MAIL_FAILED: _failed,
}
