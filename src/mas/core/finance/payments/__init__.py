"""Finance: the payments part — the payment mirror: gateway payments synced, matched and ignored
(payments-finance.md §3 GlobalPayment, §6 sync). Built by its manifest part,
``mas.modules.finance.payments``.

Exports the part's services (``PaymentServices``), what builds them (``PaymentPorts``,
``build_payments``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.finance.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class PaymentPorts:
    pass


@dataclass(frozen=True)
class PaymentServices:
    pass


def build_payments(ports: PaymentPorts) -> PaymentServices:
    return PaymentServices()


HANDLERS: Sequence[Handler[PaymentServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[PaymentServices, Any]] = ()
