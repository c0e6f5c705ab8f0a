"""Mentorship: the calendar part (mentorship.md §3 GoogleCalendarCredential, §6 calendar_sync and
reminders). Built by its manifest part, ``mas.modules.mentorship.calendar``.

``accounts`` connects a mentor's (or the platform's) Google calendar by OAuth and keeps the
tokens sealed; ``sync`` follows ``MeetingMoved`` to put confirmed meetings on the calendar and
take cancelled or expired ones off; ``reminders`` is the 5-minute cron of the 24-hour and
15-minute reminders. Handlers take the part's services; ``mas.core.mentorship.handlers``
binds them to the domain's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.calendar import tasks
from mas.core.mentorship.calendar.accounts import CalendarAccounts
from mas.core.mentorship.calendar.ports import CalendarUnitOfWork, GoogleOAuth
from mas.core.mentorship.calendar.reminders import Reminders
from mas.core.mentorship.calendar.sync import CalendarSync
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.ports.calendar import CalendarPort
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.secrets import SecretBox
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class CalendarPorts:
    uow: UnitOfWorkFactory[CalendarUnitOfWork]
    clock: Clock
    calendar: CalendarPort
    oauth: GoogleOAuth
    box: SecretBox | None
    """Seals the tokens; None when no secret can key it (connecting is then 503)."""
    jobs: Enqueuer
    messenger: Messenger
    state_secret: bytes
    """Signs the OAuth state (a key of the installation's)."""
    redirect_uri: str
    """Google's callback to us (registered with the OAuth client)."""


@dataclass(frozen=True)
class CalendarServices:
    calendar: CalendarPort
    """The calendar the part writes to (the manifest's Google adapter)."""
    accounts: CalendarAccounts
    sync: CalendarSync
    reminders: Reminders


def build_calendar(ports: CalendarPorts) -> CalendarServices:
    accounts = CalendarAccounts(
        ports.uow, ports.clock, ports.oauth, ports.box, ports.state_secret, ports.redirect_uri
    )
    return CalendarServices(
        calendar=ports.calendar,
        accounts=accounts,
        sync=CalendarSync(ports.uow, ports.clock, ports.calendar, accounts, ports.jobs),
        reminders=Reminders(ports.uow, ports.clock, ports.messenger),
    )


async def meeting_moved(calendar: CalendarServices, event: MeetingMoved) -> None:
    await calendar.sync.on_moved(event)


HANDLERS: Sequence[Handler[CalendarServices, Any]] = (
    Handler(tasks.CALENDAR_SYNC, tasks.calendar_sync, on_dead=tasks.calendar_sync_dead),
    Handler(tasks.CALENDAR_SWEEP, tasks.calendar_sweep),
    Handler(tasks.REMINDERS, tasks.reminders),
)
CRONS: Mapping[Task[Any], str] = {
    tasks.CALENDAR_SWEEP: "*/15 * * * *",
    tasks.REMINDERS: "*/5 * * * *",
}
SUBSCRIPTIONS: Sequence[Subscription[CalendarServices, Any]] = (
    Subscription(MeetingMoved, meeting_moved),
)
