"""The send window (workflow.md §3, §6): sends happen only between ``start`` and ``end``
local time in ``tz`` (default 09:00-21:00 Asia/Kolkata); a send due outside is deferred to the
next opening, not failed. A window whose end is before its start spans midnight (20:00-02:00).

Times given and returned are aware; results are UTC (the house rule: IST only at the edges).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from mas.core.workflow.definitions.nodes import ClockTime

TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValueError`` when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class SendWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    start: ClockTime = "09:00"
    end: ClockTime = "21:00"
    tz: TimeZoneName = "Asia/Kolkata"
    """An IANA zone; ``problem`` says whether this one exists (checked when a workflow is
    written, so a stored window always has a usable zone)."""

    def problem(self) -> str | None:
        """Why the window cannot be used (None when it can)."""
        try:
            zone(self.tz)
        except ValueError as error:
            return str(error)
        if self.start == self.end:
            return "a send window's start and end differ"
        return None


def _local(when: datetime, tz: ZoneInfo) -> datetime:
    if when.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return when.astimezone(tz)


def _at(day: date, moment: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=tz).astimezone(UTC)


def next_open(window: SendWindow, now: datetime) -> datetime | None:
    """None when the window is open at ``now``; else when it next opens (UTC)."""
    tz = zone(window.tz)
    local = _local(now, tz)
    start, end = clock_time(window.start), clock_time(window.end)
    moment = local.time()
    if start < end:
        if start <= moment < end:
            return None
        day = local.date() if moment < start else local.date() + timedelta(days=1)
        return _at(day, start, tz)
    if moment >= start or moment < end:
        return None
    return _at(local.date(), start, tz)


def next_time_of_day(until: str, tz_name: str, now: datetime) -> datetime:
    """The next ``HH:MM`` in ``tz_name`` strictly after ``now`` (UTC): a wait ``until_time``."""
    tz = zone(tz_name)
    local = _local(now, tz)
    candidate = datetime.combine(local.date(), clock_time(until), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), clock_time(until), tzinfo=tz)
    return candidate.astimezone(UTC)
