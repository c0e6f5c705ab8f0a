"""Time is aware UTC inside mas; a person's "today" is computed in the configured zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Treat a naive value as UTC (SQLite drops the offset) and convert an aware one."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def local_today(moment: datetime, zone: str) -> datetime:
    """Midnight of ``moment``'s local day in ``zone``, returned in UTC."""
    local = as_utc(moment).astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
