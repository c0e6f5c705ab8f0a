"""The mentorship manifest's mentors part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.mentorship.mentors import SqlMentorRepository, SqlMentorStatsRepository
from mas.core.mentorship.mentors import MentorPorts, MentorServices, build_mentors
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.mentorship.mentors_tables"]
REPOSITORIES: dict[str, Any] = {
    "mentors": SqlMentorRepository,
    "mentor_stats": SqlMentorStatsRepository,
}
CONTROLLERS: list[str] = [
    "mas.http.mentorship.mentors:MentorDiscoveryController",
    "mas.http.mentorship.mentors:MyMentorProfileController",
    "mas.http.mentorship.mentors:MentorListingController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> MentorServices:
    return build_mentors(MentorPorts(uow=c.uow, clock=c.clock))
