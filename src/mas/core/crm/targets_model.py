"""Daily targets, their actuals and the leaderboard. Pure: no I/O.

Actuals are counted from the lead activity journal of one local (IST) day, for activities the
salesperson did themselves (``actor_id``):
- ``calls_done``: CALL activities;
- ``connected_calls``: CALL activities whose data says the call completed (``status`` or
  ``outcome`` COMPLETED, or ``connected: true``) and lasted at least 20 s (``duration_s``);
- ``follow_ups_done``: FOLLOW_UP_DONE activities;
- ``moved_to_interested`` / ``conversions``: distinct leads moved to INTERESTED / CONVERTED
  (STATUS_CHANGED ``data.to``, or a CONVERTED activity).
Revenue needs the finance read port, which does not exist yet: it stays 0.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec

from mas.core.crm.model import ActivityType
from mas.core.crm.queries import EARLIEST_DAY, LATEST_DAY
from mas.core.platform.errors import FieldError, ValidationFailed

MAX_DAYS_AHEAD = 31
MAX_DAYS_BACK = 7
MAX_RANGE_DAYS = 92
CONNECTED_MIN_SECONDS = 20
COUNTED_TYPES = (
    ActivityType.CALL,
    ActivityType.FOLLOW_UP_DONE,
    ActivityType.STATUS_CHANGED,
    ActivityType.CONVERTED,
)

Count = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class TargetInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One row of ``PUT /api/crm/targets`` (``{"targets": [...]}``); missing numbers are 0."""

    salesperson_id: uuid.UUID
    date: date
    calls_target: Count = 0
    connected_calls_target: Count = 0
    follow_ups_target: Count = 0
    interested_target: Count = 0
    conversions_target: Count = 0
    revenue_target_paise: Annotated[int, msgspec.Meta(ge=0, le=10**13)] = 0
    note: Annotated[str, msgspec.Meta(max_length=300)] | None = None


class DailyTarget(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    salesperson_id: uuid.UUID
    target_date: date
    created_at: datetime
    updated_at: datetime
    calls_target: int = 0
    connected_calls_target: int = 0
    follow_ups_target: int = 0
    interested_target: int = 0
    conversions_target: int = 0
    revenue_target_paise: int = 0
    set_by: uuid.UUID | None = None
    note: str | None = None


class Actuals(msgspec.Struct, kw_only=True):
    salesperson_id: uuid.UUID
    target_date: date
    calls_done: int = 0
    connected_calls: int = 0
    follow_ups_done: int = 0
    moved_to_interested: int = 0
    conversions: int = 0
    revenue_paise: int = 0
    computed_at: datetime | None = None  # None: never computed (no activity, or job not run)


class ActivityFact(msgspec.Struct, frozen=True, kw_only=True):
    actor_id: uuid.UUID
    raw_lead_id: uuid.UUID
    type: ActivityType
    occurred_at: datetime
    data: dict[str, Any] = {}


def local_today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local ``day`` starts and the next one starts."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_targets(rows: Sequence[TargetInput], today: date) -> None:
    """Dates within [today - 7, today + 31]; one row per (person, date)."""
    errors: list[FieldError] = []
    seen: set[tuple[uuid.UUID, date]] = set()
    for i, row in enumerate(rows):
        if row.date > today + timedelta(days=MAX_DAYS_AHEAD):
            errors.append(FieldError(f"targets[{i}].date", f"at most {MAX_DAYS_AHEAD} days ahead"))
        elif row.date < today - timedelta(days=MAX_DAYS_BACK):
            errors.append(
                FieldError(f"targets[{i}].date", f"at most {MAX_DAYS_BACK} days in the past")
            )
        key = (row.salesperson_id, row.date)
        if key in seen:
            errors.append(FieldError(f"targets[{i}]", "the same salesperson and date twice"))
        seen.add(key)
    if errors:
        raise ValidationFailed(
            "some target rows are not acceptable", code="bad_target_rows", errors=errors
        )


def check_range(start: date, end: date) -> None:
    for field, day in (("from", start), ("to", end)):
        # Year 1 or 9999 would overflow the UTC bounds of the local day (a 500).
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            message = f"must be between {EARLIEST_DAY} and {LATEST_DAY}"
            raise ValidationFailed(
                f"'{field}' {message}",
                code="date_out_of_range",
                errors=[FieldError(field, message)],
            )
    if end < start:
        raise ValidationFailed(
            "'to' is before 'from'",
            code="range_reversed",
            errors=[FieldError("to", "must not be before 'from'")],
        )
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValidationFailed(
            f"at most {MAX_RANGE_DAYS} days at once",
            code="range_too_long",
            errors=[FieldError("to", f"the range spans more than {MAX_RANGE_DAYS} days")],
        )


def _connected(data: dict[str, Any]) -> bool:
    outcome = str(data.get("status") or data.get("outcome") or "").upper()
    completed = outcome == "COMPLETED" or data.get("connected") is True
    duration = data.get("duration_s", data.get("duration_seconds", 0))
    try:
        seconds = float(duration or 0)
    except (TypeError, ValueError):
        seconds = 0.0
    return completed and seconds >= CONNECTED_MIN_SECONDS


def tally(
    facts: Iterable[ActivityFact], zone: str, now: datetime
) -> dict[tuple[uuid.UUID, date], Actuals]:
    """Actuals per (salesperson, local day) from the activities they did themselves."""
    out: dict[tuple[uuid.UUID, date], Actuals] = {}
    interested: set[tuple[uuid.UUID, date, uuid.UUID]] = set()
    converted: set[tuple[uuid.UUID, date, uuid.UUID]] = set()
    tz = ZoneInfo(zone)
    for fact in facts:
        day = fact.occurred_at.astimezone(tz).date()
        key = (fact.actor_id, day)
        row = out.get(key) or Actuals(salesperson_id=fact.actor_id, target_date=day)
        out[key] = row
        row.computed_at = now
        moved_to = str(fact.data.get("to", "")) if fact.type is ActivityType.STATUS_CHANGED else ""
        if fact.type is ActivityType.CALL:
            row.calls_done += 1
            row.connected_calls += 1 if _connected(fact.data) else 0
        elif fact.type is ActivityType.FOLLOW_UP_DONE:
            row.follow_ups_done += 1
        elif moved_to == "INTERESTED":
            interested.add((fact.actor_id, day, fact.raw_lead_id))
        elif moved_to == "CONVERTED" or fact.type is ActivityType.CONVERTED:
            converted.add((fact.actor_id, day, fact.raw_lead_id))
    for actor, day, _ in interested:
        out[(actor, day)].moved_to_interested += 1
    for actor, day, _ in converted:
        out[(actor, day)].conversions += 1
    return out


def add_up(person: uuid.UUID, day: date, rows: Iterable[Actuals]) -> Actuals:
    total = Actuals(salesperson_id=person, target_date=day)
    for row in rows:
        total.calls_done += row.calls_done
        total.connected_calls += row.connected_calls
        total.follow_ups_done += row.follow_ups_done
        total.moved_to_interested += row.moved_to_interested
        total.conversions += row.conversions
        total.revenue_paise += row.revenue_paise
    return total


class Standing(msgspec.Struct, kw_only=True):
    rank: int
    salesperson_id: uuid.UUID
    name: str
    conversions: int
    calls_done: int
    connected_calls: int
    follow_ups_done: int
    moved_to_interested: int


def rank(rows: Sequence[tuple[str, Actuals]]) -> list[Standing]:
    """By conversions, then calls (more is better); equal pairs share a rank (1, 2, 2, 4)."""
    ordered = sorted(
        rows, key=lambda r: (-r[1].conversions, -r[1].calls_done, r[0], str(r[1].salesperson_id))
    )
    out: list[Standing] = []
    for i, (name, a) in enumerate(ordered):
        same = out and (out[-1].conversions, out[-1].calls_done) == (a.conversions, a.calls_done)
        out.append(
            Standing(
                rank=out[-1].rank if same else i + 1,
                salesperson_id=a.salesperson_id,
                name=name,
                conversions=a.conversions,
                calls_done=a.calls_done,
                connected_calls=a.connected_calls,
                follow_ups_done=a.follow_ups_done,
                moved_to_interested=a.moved_to_interested,
            )
        )
    return out
