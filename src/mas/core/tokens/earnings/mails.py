"""The earnings part's system mails (code templates; the messenger renders them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail
from mas.core.tokens.earnings.digest import MAIL_DIGEST
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


def _digest(data: Mapping[str, Any]) -> RenderedEmail:
    waiting, fresh = int(data["waiting"]), int(data["new"])
    lines = "\n".join(f"- {line}" for line in data["lines"])
    return RenderedEmail(
        subject=f"{waiting} withdrawal{'s' if waiting != 1 else ''} waiting for payment",
        text=f"Hi {data['name']},\n\n{fresh} new since yesterday, {waiting} waiting in all. "
        f"The newest:\n{lines}\n\nProcess them from the withdrawal requests.\n",
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {
    MAIL_DIGEST: _digest,
    MAIL_REQUESTED: _requested,
    MAIL_COMPLETED: _completed,
    MAIL_FAILED: _failed,
}
