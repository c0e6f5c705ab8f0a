"""The mentors' statistics as the meetings part keeps them: ``MentorServices.stats``.

Discovery sorts by open slots, completed meetings and average rating, and the leaderboard ranks
by the last two. Counting them from ``slots`` and ``slots_feedback`` on every page would scan the
meetings; instead the meetings part calls this book **inside its own unit of work**, so a
counter moves in the same transaction as the slot or the feedback that moves it (both commit or
neither does):

* ``record_completion(uow, mentor_id)`` — a meeting reached ``completed``;
* ``record_rating(uow, mentor_id, rating)`` — a student's feedback (1.0–5.0 in 0.5 steps);
* ``adjust_open_slots(uow, mentor_id, delta)`` — a slot was published (+1) or left ``open``
  (booked, removed or expired: −1).

Each is one atomic statement on the mentor's row (created on first use), so concurrent
meetings of one mentor never lose an update.
"""

from __future__ import annotations

import uuid
from typing import cast

from mas.core.mentorship.mentors.model import MentorStats
from mas.core.mentorship.mentors.ports import MentorUnitOfWork
from mas.core.mentorship.mentors.totals import TotalsMemo
from mas.core.platform.errors import Conflict, FieldError, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork

MIN_RATING = 1.0
MAX_RATING = 5.0


def check_rating(rating: float) -> float:
    """1.0–5.0 in steps of 0.5 (mentorship.md §3 SlotFeedback)."""
    if not (MIN_RATING <= rating <= MAX_RATING and float(rating * 2).is_integer()):
        message = "must be between 1.0 and 5.0 in steps of 0.5"
        raise ValidationFailed(f"rating {message}", errors=[FieldError("rating", message)])
    return float(rating)


class StatsBook:
    def __init__(self, clock: Clock, totals: TotalsMemo) -> None:
        self._clock = clock
        self._totals = totals

    async def record_completion(self, uow: UnitOfWork, mentor_id: uuid.UUID) -> None:
        stats = _view(uow).mentor_stats
        now = self._clock.now()
        await stats.ensure(mentor_id, now)
        await stats.add_completion(mentor_id, now)
        self._totals.forget()  # a first completion puts the mentor on the leaderboard

    async def record_rating(self, uow: UnitOfWork, mentor_id: uuid.UUID, rating: float) -> None:
        value = check_rating(rating)
        stats = _view(uow).mentor_stats
        now = self._clock.now()
        await stats.ensure(mentor_id, now)
        await stats.add_rating(mentor_id, value, now)

    async def adjust_open_slots(self, uow: UnitOfWork, mentor_id: uuid.UUID, delta: int) -> None:
        """Refuses (``Conflict``) a change that would leave a negative count: that is a
        bookkeeping error of the caller, and its transaction must not commit."""
        if delta == 0:
            return
        stats = _view(uow).mentor_stats
        now = self._clock.now()
        await stats.ensure(mentor_id, now)
        if not await stats.shift_open_slots(mentor_id, delta, now):
            raise Conflict(
                f"mentor {mentor_id} would have fewer than 0 open slots (change {delta})",
                code="open_slots_negative",
            )

    async def read(self, uow: UnitOfWork, mentor_id: uuid.UUID) -> MentorStats:
        """The mentor's counters (zeros before the first change)."""
        found = await _view(uow).mentor_stats.get(mentor_id)
        return found if found is not None else MentorStats(mentor_id=mentor_id)


def _view(uow: UnitOfWork) -> MentorUnitOfWork:
    # The caller's unit of work has every domain's repositories; this part uses its own.
    return cast(MentorUnitOfWork, uow)
