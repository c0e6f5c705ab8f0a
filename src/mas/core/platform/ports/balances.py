"""A user's token balance, for the domains that show it beside something of their own.

The tokens domain implements it (``Module.provides["balances"]``: the wallet's accounts); the
shapes are defined here, once, and the tokens domain's wallet uses these very Structs, so the
balance read through the port and ``GET /api/tokens/balance`` cannot drift apart. Identity
takes the port for ``GET /api/user-details``: identity precedes tokens in ``MODULES``, so it
cannot reach the tokens domain's services, only a port the platform builds before any domain.
Without a tokens domain the null object answers None (no balance is known, not a zero one).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

import msgspec


class KindBalance(msgspec.Struct, frozen=True, kw_only=True):
    """One token kind: the wallet's own tokens, the active promotional grant's, their sum."""

    wallet: int
    promo: int
    promo_expires_at: datetime | None
    total: int


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    mentor: KindBalance
    resume: KindBalance


class TokenBalances(Protocol):
    async def balance(self, user_id: uuid.UUID) -> Balance | None:
        """The user's spendable tokens by kind; None when no token domain is installed."""
        ...


class NoBalances:
    """The port while no domain provides it."""

    async def balance(self, user_id: uuid.UUID) -> Balance | None:
        return None
