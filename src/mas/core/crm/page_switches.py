"""The CRM's switch on a sales head's pages: the ``page_flags`` of their CRM profile.

The HTTP guard calls ``require`` on every request of a SALES_HEAD to a page (the hook the CRM's
manifest declares), after the identity permission. The profile is kept in the cache port for
30 s, like the account snapshot identity keeps, and dropped when an ADMIN creates or changes it
(``TeamService``): a flag switched off applies at the next request on every process sharing
that cache, and within 30 s on one that does not. ADMIN, SUPERADMIN and SALES never cause a read.

The lead list reads a head's isolation flag from the same cached profile
(``isolation_enabled``), so a page of the list costs no read of the profile either; a change
by an ADMIN drops it like a flag change.

The assignment, approval and target services still check their flag inside their own
transaction (``assignment_access.head_page``), with the flag names ``pages.PAGE_DEFAULT_FLAG``
declares for their routes: a second look, never a different answer.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.crm.assignment_model import SalesHeadProfile, require_flag
from mas.core.crm.pages import flag_of
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller, Role
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.single_flight import SingleFlight

PROFILE_TTL_S = 30


def profile_key(head_id: uuid.UUID) -> str:
    return f"crm:head-profile:{head_id}"


class PageSwitches:
    def __init__(self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], cache: Cache) -> None:
        self._uow = uow
        self._cache = cache
        self._loads: SingleFlight[uuid.UUID, bytes] = SingleFlight()

    async def require(self, caller: Caller, page: str, route_flag: str | None = None) -> None:
        """403 ``page_disabled`` when a sales head's profile has the route's flag off (or the
        head has no profile yet). Any other caller passes without a read."""
        if caller.role is not Role.SALES_HEAD:
            return
        flag = flag_of(page, route_flag)
        if flag is None:
            return
        require_flag(await self._profile(caller.user_id), flag)

    async def isolation_enabled(self, head_id: uuid.UUID) -> bool:
        """The sales head's isolation flag from the same cached profile (true without one):
        the lead list reads its scope from here instead of the database on every request."""
        profile = await self._profile(head_id)
        return True if profile is None else profile.isolation_enabled

    async def forget(self, head_id: uuid.UUID) -> None:
        """Drop the cached profile after a change to it."""
        self._loads.forget(head_id)
        await self._cache.delete(profile_key(head_id))

    async def _profile(self, head_id: uuid.UUID) -> SalesHeadProfile | None:
        """Requests that miss together share one read (each decodes its own copy)."""
        cached = await self._cache.get(profile_key(head_id))
        if cached is None:
            cached = await self._loads.run(head_id, lambda: self._load(head_id))
        return msgspec.json.decode(cached, type=SalesHeadProfile | None)

    async def _load(self, head_id: uuid.UUID) -> bytes:
        async with self._uow() as uow:
            profile = await uow.head_profiles.get(head_id)
        encoded = msgspec.json.encode(profile)
        await self._cache.set(profile_key(head_id), encoded, PROFILE_TTL_S)
        return encoded
