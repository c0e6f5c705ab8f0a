"""The bodies of the invoicing routes and CLI (payments-finance.md §5): bounded msgspec Structs
that Litestar validates (422 naming the field) before a service sees them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import msgspec

from mas.core.finance.invoicing.model import HsnSac

Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=300)]


class NewRate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: HsnSac
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    gst_rate_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    """One of 0, 500, 1200, 1800, 2800 (another value: 422 ``rate_not_allowed``)."""
    effective_from: date
    effective_to: date | None = None


class CloseRate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Close a rate row: it stops applying after ``effective_to``."""

    id: uuid.UUID
    effective_to: date


class StateCodeEdit(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None
    uses_utgst: bool | None = None


class CancelInvoice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: Reason
