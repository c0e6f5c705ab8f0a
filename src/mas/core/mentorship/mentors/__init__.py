"""Mentorship: the mentors part (mentorship.md §3 MentorProfile, §5 the mentor routes). Built by
its manifest part, ``mas.modules.mentorship.mentors``.

``profiles`` serves an EXPERT's own profile and the admins' listing switch; ``discovery`` the
public reads (list, paginated discovery, a facet's picks, one profile, the leaderboard; their
totals are remembered a few seconds, ``totals``);
``stats`` (``stats.StatsBook``) is the interface the meetings part calls **in its own unit of
work** to keep the counters discovery sorts by: ``record_completion(uow, mentor_id)``,
``record_rating(uow, mentor_id, rating)``, ``adjust_open_slots(uow, mentor_id, delta)``.
A mentor is named by their user id (``model``'s docstring says why).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.mentors.discovery import MentorDiscovery
from mas.core.mentorship.mentors.ports import MentorUnitOfWork
from mas.core.mentorship.mentors.profiles import MentorProfiles
from mas.core.mentorship.mentors.stats import StatsBook
from mas.core.mentorship.mentors.totals import TotalsMemo
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MentorPorts:
    uow: UnitOfWorkFactory[MentorUnitOfWork]
    clock: Clock


@dataclass(frozen=True)
class MentorServices:
    profiles: MentorProfiles
    discovery: MentorDiscovery
    stats: StatsBook


def build_mentors(ports: MentorPorts) -> MentorServices:
    totals = TotalsMemo(ports.clock)
    return MentorServices(
        profiles=MentorProfiles(ports.uow, ports.clock, totals),
        discovery=MentorDiscovery(ports.uow, totals),
        stats=StatsBook(ports.clock, totals),
    )


HANDLERS: Sequence[Handler[MentorServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[MentorServices, Any]] = ()
