"""The mentors part's tables: profiles (``mentors``) and their statistics (``mentor_stats``).

``mentor_stats`` is keyed by the mentor's user id (a mentor is named by it everywhere) and is
written only through ``StatsBook``, by the meetings part, in one statement per change. The
average is stored (not computed per read), twice: ``avg_rating`` (null until rated) for the
cards, and ``rating_order`` (0 until rated) as the sort key, so that the index
``ix_mentor_stats_rating`` (best first, unrated last, then id) hands discovery's
``sortBy=rating`` page to the database already in order: the first nine of 5,000 mentors are
read off the index, not sorted.
"""

from __future__ import annotations

import uuid

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base, metadata

TS = DateTimeUTC(timezone=True)


class MentorRow(Base):
    __tablename__ = "mentors"
    __table_args__ = (
        CheckConstraint("experience_years >= 0", name="experience_years_not_negative"),
        Index("ix_mentors_facet", "category", "sub_category"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    company: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(255))
    institute: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(255))
    sub_category: Mapped[str] = mapped_column(String(255))
    expertise: Mapped[list[str]] = mapped_column(JsonB)
    experience_years: Mapped[int] = mapped_column(Integer, default=0)
    image: Mapped[str | None] = mapped_column(String(2048), default=None)
    is_listed: Mapped[bool] = mapped_column(Boolean, default=True)


Index("ix_mentors_experience", MentorRow.experience_years.desc(), MentorRow.user_id)


mentor_stats = Table(
    "mentor_stats",
    metadata,
    Column(
        "mentor_id",
        GUID(length=16),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("completed_meets", Integer, nullable=False),
    Column("rating_sum", Double, nullable=False),
    Column("rating_count", Integer, nullable=False),
    Column("avg_rating", Double, nullable=True),
    # The average, 0 while unrated (a rating is at least 1.0): "best first, unrated last" as
    # one plain descending key, which both databases index alike (SQLite refuses NULLS LAST
    # in an index).
    Column("rating_order", Double, nullable=False),
    Column("open_future_slots", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    CheckConstraint("completed_meets >= 0", name="completed_meets_not_negative"),
    CheckConstraint("rating_count >= 0", name="rating_count_not_negative"),
    CheckConstraint("open_future_slots >= 0", name="open_future_slots_not_negative"),
)

Index(
    "ix_mentor_stats_rating",
    mentor_stats.c.rating_order.desc(),
    mentor_stats.c.mentor_id,
)
Index(
    "ix_mentor_stats_meets",
    mentor_stats.c.completed_meets.desc(),
    mentor_stats.c.rating_order.desc(),
    mentor_stats.c.mentor_id,
)
Index("ix_mentor_stats_slots", mentor_stats.c.open_future_slots.desc(), mentor_stats.c.mentor_id)
