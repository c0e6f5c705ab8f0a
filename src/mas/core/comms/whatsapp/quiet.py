"""Quiet hours (communications.md §5): marketing templates to leads go out only in the day.

The window is a local time span (``09:00``-``21:00`` in ``Asia/Kolkata`` by default); outside it
a send waits for the next opening. The times are the settings' ``whatsapp_quiet_start`` (when
quiet begins) and ``whatsapp_quiet_end`` (when it ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _clock(text: str) -> time:
    hours, minutes = text.strip().split(":", 1)
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    zone: str = "Asia/Kolkata"
    start: str = "21:00"
    end: str = "09:00"

    def next_allowed(self, now: datetime) -> datetime | None:
        """When a marketing send may go out: None if now, else the end of the quiet span."""
        zone = ZoneInfo(self.zone)
        local = now.astimezone(zone)
        start, end = _clock(self.start), _clock(self.end)
        at = local.time()
        quiet = (at >= start or at < end) if start > end else (start <= at < end)
        if not quiet:
            return None
        opening = datetime.combine(local.date(), end, tzinfo=zone)
        if opening <= local:
            opening = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
        return opening.astimezone(UTC)
