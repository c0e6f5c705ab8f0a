"""The calendar part's tasks and crons (mentorship.md §6, §8: three tries with backoff, then
an ops alert; the meeting stays valid)."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.mentorship.calendar import CalendarServices

log = logging.getLogger("mas.mentorship.calendar")


class SlotRef(msgspec.Struct, frozen=True, kw_only=True):
    slot_id: uuid.UUID


CALENDAR_SYNC = Task(
    "mentorship.calendar_sync",
    SlotRef,
    TaskPolicy(attempts=3, backoff_s=60.0, max_backoff_s=900.0, timeout_s=60.0),
)
"""Keyed by the move it follows (``calendar:<slot>:v<version>``) or the sweep's quarter hour:
every run reconciles with the slot as it then stands, so any two runs agree."""
CALENDAR_SWEEP = Task("mentorship.calendar_sync_sweep", NoArgs, TaskPolicy(attempts=2))
REMINDERS = Task("mentorship.reminders", NoArgs, TaskPolicy(attempts=2))


async def calendar_sync(calendar: CalendarServices, ref: SlotRef) -> None:
    """Put a meeting on the calendar or take it off, as the slot now stands (idempotent)."""
    await calendar.sync.run(ref.slot_id)


async def calendar_sync_dead(calendar: CalendarServices, ref: SlotRef) -> None:
    log.error("mentorship.calendar_sync_failed", extra={"slot_id": str(ref.slot_id)})


async def calendar_sweep(calendar: CalendarServices, _: NoArgs) -> None:
    """Resubmit the syncs of meetings whose calendar is not yet as they stand."""
    await calendar.sync.sweep()


async def reminders(calendar: CalendarServices, _: NoArgs) -> None:
    """Send the due 24-hour and 15-minute meeting reminders (each once, by compare-and-set)."""
    await calendar.reminders.run()
