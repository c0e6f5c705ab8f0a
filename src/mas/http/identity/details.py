"""``GET /api/user-details``: one's own account and token balance (identity.md)."""

from __future__ import annotations

from litestar import get

from mas.core.identity.details import UserDetails
from mas.http.identity import Identity, IdentityController
from mas.http.params import CallerDep


class UserDetailsController(IdentityController):
    path = "/api/user-details"
    tags = ["user"]
    opt = {"policy": "authenticated"}

    @get(
        operation_id="userDetails",
        summary="The signed-in user's profile and token balance (null without a token domain)",
    )
    async def details(self, identity: Identity, caller: CallerDep) -> UserDetails:
        return await identity.details.of(caller.user_id)
