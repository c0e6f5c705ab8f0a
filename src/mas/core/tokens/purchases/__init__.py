"""Tokens: the purchases part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.purchases``.

Exports the part's services (``PurchaseServices``), what builds them (``PurchasePorts``,
``build_purchases``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.tokens.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task
from mas.core.tokens.purchases import tasks
from mas.core.tokens.purchases.services import PurchasePorts, PurchaseServices, build_purchases

HANDLERS: Sequence[Handler[PurchaseServices, Any]] = tasks.HANDLERS
CRONS: Mapping[Task[Any], str] = tasks.CRONS
SUBSCRIPTIONS: Sequence[Subscription[PurchaseServices, Any]] = ()

__all__ = [
    "CRONS",
    "HANDLERS",
    "SUBSCRIPTIONS",
    "PurchasePorts",
    "PurchaseServices",
    "build_purchases",
]
