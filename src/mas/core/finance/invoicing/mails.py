"""The invoicing part's system mail: an issued invoice or credit note, its PDF attached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail


def rupees(paise: int) -> str:
    return f"₹{paise // 100:,}.{paise % 100:02d}"


def _invoice(data: Mapping[str, Any]) -> RenderedEmail:
    what = "credit note" if data["kind"] == "CREDIT_NOTE" else "tax invoice"
    number = data["invoice_number"]
    return RenderedEmail(
        subject=f"Your {what} {number} from {data['supplier_name']}",
        text=f"Hi {data['customer_name']},\n\nPlease find attached {what} {number} for "
        f"{rupees(int(data['total_paise']))} (GST included).\n\n{data['supplier_name']}\n",
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {"finance.invoice": _invoice}
