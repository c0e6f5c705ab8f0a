"""What lists, feeds, windows and reports of leads look like. Pure."""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from mas.core.crm.model import (
    Activity,
    FollowUp,
    FollowUpStatus,
    Lead,
    LeadSource,
    LeadStatus,
)
from mas.core.crm.scope import LeadScope
from mas.core.platform.errors import FieldError, ValidationFailed

COUNT_CAP = 1_000
"""Totals of a lead list are exact up to here; beyond, ``total_capped`` says "at least this
many" (an exact count of a 200 000-lead pool costs more than the page itself; the funnel
report has exact counts)."""
COUNT_TTL_S = 10
"""How long a list's counted total is reused for the same scope and filters (``LeadCounts``):
a page that needs a count then costs one index walk per 10 s instead of one per request."""
COUNT_CACHE_SIZE = 1_024
EXPORT_MAX_ROWS = 100_000
FUNNEL_MAX_DAYS = 366
# Report days a business can have; year 1 or 9999 overflowed the UTC bounds (a 500).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)
BULK_TAG_MAX = 5_000


class LeadFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters narrow the caller's scope, never widen it."""

    statuses: tuple[LeadStatus, ...] = ()
    tag: str | None = None
    q: str | None = None
    follow_up_due_before: datetime | None = None
    unassigned: bool = False
    assigned_to: uuid.UUID | None = None
    source: LeadSource | None = None
    pool: uuid.UUID | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None


class LeadPage(msgspec.Struct, frozen=True):
    """A page of leads, newest first.

    ``has_more`` and ``next_cursor`` are exact (the page reads one row more than it returns).
    ``total`` is exact when ``total_is_estimate`` is false (counted with this page, or known
    from it when it is the last); when true it was counted for the same scope and filters at
    most ``COUNT_TTL_S`` seconds ago (never less than what this page itself shows). Beyond
    ``COUNT_CAP`` it is capped (``total_capped``: "at least this many").
    """

    items: list[Lead]
    total: int
    page: int
    page_size: int
    total_capped: bool = False
    has_more: bool = False
    next_cursor: str | None = None
    total_is_estimate: bool = False


class LeadSlice(msgspec.Struct, frozen=True):
    """What the store reads for a page: up to ``page_size + 1`` leads and, when asked, the
    capped count (``total`` counts at most ``COUNT_CAP``; ``total_capped`` when more match)."""

    leads: list[Lead]
    total: int | None = None
    total_capped: bool = False


CountKey = tuple[LeadScope, LeadFilter]


class LeadCounts:
    """Counted totals of lead lists by (scope, filters), reused for ``COUNT_TTL_S`` seconds.

    The scope is part of the key, so one caller's count never answers another scope. Kept in
    the process (a count is not worth a round trip to a shared cache) and bounded in size;
    ``clear`` drops them all (the lead service calls it after its own changes; changes made
    elsewhere show within ``COUNT_TTL_S``).

    A count is renewed ahead of its end: the first ``get`` past ``refresh_at`` of the TTL
    answers ``None`` (that caller counts with its page) while every other caller goes on
    reading the entry until it expires. When it simply expired, every request in flight for
    that list counted at once — 40 counts in the same few milliseconds under 64 connections,
    a stall of the whole list every ``COUNT_TTL_S``."""

    def __init__(
        self, ttl_s: float = COUNT_TTL_S, size: int = COUNT_CACHE_SIZE, refresh_at: float = 0.8
    ) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._renew = timedelta(seconds=ttl_s * refresh_at)
        self._size = size
        self._found: dict[CountKey, tuple[datetime, int, bool]] = {}
        self._renewing: set[CountKey] = set()

    def get(self, key: CountKey, now: datetime) -> tuple[int, bool] | None:
        found = self._found.get(key)
        if found is None:
            return None
        at, total, capped = found
        if not at <= now < at + self._ttl:
            del self._found[key]
            self._renewing.discard(key)
            return None
        if now >= at + self._renew and key not in self._renewing:
            self._renewing.add(key)  # this caller counts; its ``put`` ends the renewal
            return None
        return total, capped

    def put(self, key: CountKey, now: datetime, total: int, capped: bool) -> None:
        self._found.pop(key, None)
        self._renewing.discard(key)
        if len(self._found) >= self._size:
            oldest = next(iter(self._found))
            del self._found[oldest]
            self._renewing.discard(oldest)
        self._found[key] = (now, total, capped)

    def clear(self) -> None:
        self._found.clear()
        self._renewing.clear()


class LeadDetail(Lead, kw_only=True):
    """A lead with its open follow-ups (the detail screen)."""

    open_follow_ups: list[FollowUp] = []


class TimelinePage(msgspec.Struct, frozen=True):
    items: list[Activity]
    next_cursor: str | None


class FollowUpItem(FollowUp, kw_only=True):
    """A follow-up with the lead it is about (the salesperson's agenda)."""

    lead_name: str = ""
    lead_phone: str | None = None


class FunnelReport(msgspec.Struct, frozen=True, kw_only=True):
    date_from: date
    date_to: date
    total: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    by_tag: dict[str, int]


class FollowUpWindow(enum.StrEnum):
    TODAY = "today"
    OVERDUE = "overdue"
    WEEK = "week"


class WindowQuery(msgspec.Struct, frozen=True, kw_only=True):
    statuses: tuple[FollowUpStatus, ...]
    due_from: datetime | None
    due_before: datetime


def window_query(window: FollowUpWindow, now: datetime, zone: str) -> WindowQuery:
    """today / this week: pending, by the local calendar; overdue: pending or missed, past due."""
    start = day_start(now, zone)
    if window is FollowUpWindow.OVERDUE:
        return WindowQuery(
            statuses=(FollowUpStatus.PENDING, FollowUpStatus.MISSED), due_from=None, due_before=now
        )
    days = 1 if window is FollowUpWindow.TODAY else 7
    return WindowQuery(
        statuses=(FollowUpStatus.PENDING,),
        due_from=start,
        due_before=day_start(now + timedelta(days=days), zone),
    )


def day_start(moment: datetime, zone: str) -> datetime:
    """Local midnight of ``moment``'s day in ``zone`` (aware, in that zone)."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    return datetime.combine(local.date(), time(0), tz)


def local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(zone))


def local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def date_range(
    date_from: date | None, date_to: date | None, today: date, zone: str
) -> tuple[date, date, datetime, datetime]:
    """An inclusive local-day range (default: the last 30 days) and its UTC bounds."""
    for field, day in (("date_from", date_from), ("date_to", date_to)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            message = f"must be between {EARLIEST_DAY} and {LATEST_DAY}"
            raise ValidationFailed(
                f"{field} {message}", code="date_out_of_range", errors=[FieldError(field, message)]
            )
    end = date_to or today
    start = date_from or end - timedelta(days=29)
    if start > end:
        raise ValidationFailed(
            "date_from is after date_to",
            code="range_reversed",
            errors=[FieldError("date_from", "after date_to")],
        )
    if (end - start).days + 1 > FUNNEL_MAX_DAYS:
        raise ValidationFailed(
            f"a report covers at most {FUNNEL_MAX_DAYS} days",
            code="range_too_long",
            errors=[FieldError("date_to", f"at most {FUNNEL_MAX_DAYS} days after date_from")],
        )
    tz = ZoneInfo(zone)
    lower = datetime.combine(start, time(0), tz)
    upper = datetime.combine(end + timedelta(days=1), time(0), tz)
    return start, end, lower, upper


CURSOR_PATTERN = r"^[0-9]{1,16}-[0-9a-f]{32}$"
"""A feed's cursor: the last item's instant (microseconds since 1970, UTC) and its id. Every
string of this shape is a position in the feed, so the pattern is the whole rule and the
document states it (16 digits reach the year 2286)."""
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_cursor(activity: Activity) -> str:
    moment = activity.occurred_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{(moment - _EPOCH) // _MICROSECOND}-{activity.id.hex}"


def lead_cursor(lead: Lead) -> str:
    """A lead list's position after ``lead`` (the same shape as a feed's cursor)."""
    moment = lead.created_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{(moment - _EPOCH) // _MICROSECOND}-{lead.id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    if not _CURSOR.search(cursor):
        raise ValidationFailed(
            "the cursor is not one this API gave out",
            errors=[FieldError("cursor", "unknown cursor")],
        )
    micros, _, ident = cursor.strip().partition("-")
    return _EPOCH + int(micros) * _MICROSECOND, uuid.UUID(hex=ident)
