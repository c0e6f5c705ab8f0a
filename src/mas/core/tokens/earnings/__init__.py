"""Tokens: the earnings part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.earnings``.

Exports the part's services (``EarningsServices``), what builds them (``EarningsPorts``,
``build_earnings``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.tokens.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task
from mas.core.tokens.earnings import tasks
from mas.core.tokens.earnings.services import EarningsPorts, EarningsServices, build_earnings

HANDLERS: Sequence[Handler[EarningsServices, Any]] = tasks.HANDLERS
CRONS: Mapping[Task[Any], str] = tasks.CRONS
SUBSCRIPTIONS: Sequence[Subscription[EarningsServices, Any]] = ()

__all__ = [
    "CRONS",
    "HANDLERS",
    "SUBSCRIPTIONS",
    "EarningsPorts",
    "EarningsServices",
    "build_earnings",
]
