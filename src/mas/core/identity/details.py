"""One's own account with one's token balance (``GET /api/user-details``, identity.md).

The account is the profile's (``UserView``: no hash, no Google id, no token version); the
balance comes through the platform's ``TokenBalances`` port, which the tokens domain provides
(identity is built before tokens and may not import it). Without a tokens domain it is None.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.lookup import existing_user
from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.identity.views import UserView, view
from mas.core.platform.ports.balances import Balance, TokenBalances
from mas.core.platform.ports.uow import UnitOfWorkFactory


class UserDetails(msgspec.Struct, frozen=True, kw_only=True):
    user: UserView
    tokens: Balance | None
    """Spendable tokens by kind; None when no token domain is installed."""


class AccountDetails:
    def __init__(
        self,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        guard: AccessGuard,
        balances: TokenBalances,
    ) -> None:
        self._uow = uow
        self._guard = guard
        self._balances = balances

    async def of(self, user_id: uuid.UUID) -> UserDetails:
        # The guard has just cached this account for the request: usually no database read.
        user = await self._guard.user(user_id)
        if user is None or user.is_deleted:
            async with self._uow() as uow:
                user = await existing_user(uow, user_id)
        return UserDetails(user=view(user), tokens=await self._balances.balance(user_id))
