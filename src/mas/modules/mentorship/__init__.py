"""The mentorship manifest: mentors and discovery, slots and meetings, the live room.

Split by part like communications' (``mentors``, ``meetings``, ``room``, ``recordings``,
``calendar``). Listed after tokens:
a booking holds its token, a cancellation refunds it and a completion credits the mentor
through the tokens domain's public interfaces (``c.tokens.wallet.purse``,
``c.tokens.earnings``), inside the meeting's own unit of work.
"""

from __future__ import annotations

from mas.core.mentorship.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.mentorship.services import MentorshipServices
from mas.modules.base import Module
from mas.modules.container import Container
from mas.modules.mentorship import calendar, meetings, mentors, recordings, room

PARTS = (mentors, meetings, room, recordings, calendar)


def build(c: Container) -> MentorshipServices:
    return MentorshipServices(
        mentors=mentors.build(c),
        meetings=meetings.build(c),
        room=room.build(c),
        recordings=recordings.build(c),
        calendar=calendar.build(c),
    )


MODULE = Module(
    name="mentorship",
    services=MentorshipServices,
    build=build,
    tables=[ref for part in PARTS for ref in part.TABLES],
    repositories={name: repo for part in PARTS for name, repo in part.REPOSITORIES.items()},
    handlers=HANDLERS,
    crons=CRONS,
    subscriptions=SUBSCRIPTIONS,
    controllers=[ref for part in PARTS for ref in part.CONTROLLERS],
    mail_templates={name: t for part in PARTS for name, t in part.MAIL_TEMPLATES.items()},
)
