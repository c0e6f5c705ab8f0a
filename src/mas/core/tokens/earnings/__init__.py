"""Tokens: the earnings part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.earnings``.

Exports the part's services (``EarningsServices``), what builds them (``EarningsPorts``,
``build_earnings``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.tokens.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class EarningsPorts:
    pass


@dataclass(frozen=True)
class EarningsServices:
    pass


def build_earnings(ports: EarningsPorts) -> EarningsServices:
    return EarningsServices()


HANDLERS: Sequence[Handler[EarningsServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[EarningsServices, Any]] = ()
