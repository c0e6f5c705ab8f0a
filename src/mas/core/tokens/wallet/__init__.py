"""Tokens: the wallet part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.wallet``.

Exports the part's services (``WalletServices``), what builds them (``WalletPorts``,
``build_wallet``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.tokens.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class WalletPorts:
    pass


@dataclass(frozen=True)
class WalletServices:
    pass


def build_wallet(ports: WalletPorts) -> WalletServices:
    return WalletServices()


HANDLERS: Sequence[Handler[WalletServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[WalletServices, Any]] = ()
