"""Slot statistics for ADMINs (``GET /admin/slots/stats``, mentorship.md §5): slots starting
in a range of whole days, counted by status, by mentor (the top N) and by day.

Days are read in the display time zone (``MAS_TIMEZONE``, IST by default): the range
[``from``, ``to``] becomes the instants [from 00:00, to+1 00:00) there, and the day buckets are
that zone's dates. The counting is SQL aggregates (``SlotQueries.counts``), never a loop over
rows. A range longer than 366 days, or one that ends before it starts, is 422.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mas.core.mentorship.meetings.model import MAX_STATS_DAYS, SlotStats
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.ports.uow import UnitOfWorkFactory

EARLIEST = date(2000, 1, 1)
LATEST = date(2200, 12, 31)


def day_range(from_day: date, to_day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants [from_day 00:00, to_day + 1 00:00) in ``zone``."""
    if from_day < EARLIEST or to_day > LATEST:
        raise ValidationFailed(
            f"days are between {EARLIEST} and {LATEST}", code="range_out_of_bounds"
        )
    if to_day < from_day:
        raise ValidationFailed("the range ends before it starts", code="range_reversed")
    if (to_day - from_day).days > MAX_STATS_DAYS:
        raise ValidationFailed(
            f"the range is longer than {MAX_STATS_DAYS} days", code="range_too_long"
        )
    where = ZoneInfo(zone)
    since = datetime.combine(from_day, time(0), tzinfo=where)
    until = datetime.combine(to_day + timedelta(days=1), time(0), tzinfo=where)
    return since.astimezone(UTC), until.astimezone(UTC)


class SlotStatistics:
    def __init__(self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], zone: str) -> None:
        self._uow = uow
        self._zone = zone

    async def between(self, from_day: date, to_day: date, top: int) -> SlotStats:
        since, until = day_range(from_day, to_day, self._zone)
        async with self._uow() as uow:
            counts = await uow.slot_queries.counts(since, until, self._zone, top)
        return SlotStats(from_day=from_day, to_day=to_day, timezone=self._zone, counts=counts)
