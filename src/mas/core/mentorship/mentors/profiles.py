"""An EXPERT's own mentor profile, and the admins' listing switch.

The profile is written whole (a PUT): the first write creates it, listed, with the mentor's
statistics row; later writes replace every field but the listing, which only an ADMIN moves.
Only an account whose role is EXPERT *now* (read in the same transaction, not from the token)
has a profile: an ADMIN passes the route's guard but has no profile of their own.
"""

from __future__ import annotations

import uuid

from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.mentors.model import Listing, MentorProfile, ProfileInput
from mas.core.mentorship.mentors.ports import MentorUnitOfWork
from mas.core.mentorship.mentors.totals import TotalsMemo
from mas.core.platform.errors import Conflict, Forbidden, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

NOT_AN_EXPERT = "mentor_role_required"
NO_PROFILE = "mentor_profile_missing"


class MentorProfiles:
    def __init__(
        self, uow: UnitOfWorkFactory[MentorUnitOfWork], clock: Clock, totals: TotalsMemo
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._totals = totals

    async def mine(self, caller: Caller) -> MentorProfile:
        async with self._uow() as uow:
            found = await uow.mentors.by_user(caller.user_id)
        if found is None:
            raise NotFound("you have no mentor profile yet", code=NO_PROFILE)
        return found

    async def write_mine(self, caller: Caller, data: ProfileInput) -> MentorProfile:
        clean = data.normalized()
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.mentors.account_role(caller.user_id) != Role.EXPERT.value:
                raise Forbidden("only an EXPERT account has a mentor profile", code=NOT_AN_EXPERT)
            current = await uow.mentors.by_user(caller.user_id)
            if current is None:
                profile = MentorProfile(
                    id=uuid7(),
                    user_id=caller.user_id,
                    company=clean.company,
                    role=clean.role,
                    institute=clean.institute,
                    description=clean.description,
                    category=clean.category,
                    sub_category=clean.sub_category,
                    expertise=list(clean.expertise),
                    experience_years=clean.experience_years,
                    image=clean.image,
                    is_listed=True,
                    created_at=now,
                    updated_at=now,
                )
                try:
                    await uow.mentors.add(profile)
                except DuplicateKey:
                    # Two first writes raced; the other one's profile stands.
                    raise Conflict(
                        "your profile was just created by another request; send it again",
                        code="mentor_profile_exists",
                    ) from None
                await uow.mentor_stats.ensure(caller.user_id, now)
            else:
                profile = current.edited(clean, now)
                await uow.mentors.save(profile)
            await uow.commit()
        self._totals.forget()
        return profile

    async def set_listing(self, mentor_id: uuid.UUID, listing: Listing) -> MentorProfile:
        async with self._uow() as uow:
            if not await uow.mentors.set_listed(mentor_id, listing.is_listed, self._clock.now()):
                raise NotFound(f"mentor {mentor_id} has no profile")
            profile = await uow.mentors.by_user(mentor_id)
            await uow.commit()
        self._totals.forget()
        assert profile is not None
        return profile
