"""Finance: the invoicing part — GST invoices and credit notes, the HSN/SAC and state-code masters,
numbering, PDFs and their mails. Built by its manifest part,
``mas.modules.finance.invoicing``.

Exports the part's services (``InvoicingServices``), what builds them (``InvoicingPorts``,
``build_invoicing``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class InvoicingPorts:
    pass


@dataclass(frozen=True)
class InvoicingServices:
    pass


def build_invoicing(ports: InvoicingPorts) -> InvoicingServices:
    return InvoicingServices()


HANDLERS: Sequence[Handler[InvoicingServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[InvoicingServices, Any]] = ()
