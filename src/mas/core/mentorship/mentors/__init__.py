"""Mentorship: the mentors part (mentorship.md). Built by its manifest part,
``mas.modules.mentorship.mentors``.

Exports the part's services (``MentorServices``), what builds them (``MentorPorts``,
``build_mentors``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.mentorship.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MentorPorts:
    pass


@dataclass(frozen=True)
class MentorServices:
    pass


def build_mentors(ports: MentorPorts) -> MentorServices:
    return MentorServices()


HANDLERS: Sequence[Handler[MentorServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[MentorServices, Any]] = ()
