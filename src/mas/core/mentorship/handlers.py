"""The domain's tasks, crons and subscriptions: each part's, bound to the domain's services."""

from __future__ import annotations

from typing import Any

from mas.core.mentorship import calendar, meetings, mentors, recordings, room
from mas.core.mentorship.services import MentorshipServices
from mas.core.platform.events import Subscription, lift_subscriptions
from mas.core.platform.tasking import Handler, Task, lift_handlers

PARTS = {
    "mentors": mentors,
    "meetings": meetings,
    "room": room,
    "recordings": recordings,
    "calendar": calendar,
}

HANDLERS: list[Handler[MentorshipServices, Any]] = [
    h for name, part in PARTS.items() for h in lift_handlers(name, part.HANDLERS)
]
CRONS: dict[Task[Any], str] = {t: e for part in PARTS.values() for t, e in part.CRONS.items()}
SUBSCRIPTIONS: list[Subscription[MentorshipServices, Any]] = [
    s for name, part in PARTS.items() for s in lift_subscriptions(name, part.SUBSCRIPTIONS)
]
