"""Tokens: the purchases part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.purchases``.

Exports the part's services (``PurchaseServices``), what builds them (``PurchasePorts``,
``build_purchases``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.tokens.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class PurchasePorts:
    pass


@dataclass(frozen=True)
class PurchaseServices:
    pass


def build_purchases(ports: PurchasePorts) -> PurchaseServices:
    return PurchaseServices()


HANDLERS: Sequence[Handler[PurchaseServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[PurchaseServices, Any]] = ()
