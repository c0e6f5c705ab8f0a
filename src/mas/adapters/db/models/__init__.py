"""ORM models. Import every module here so Alembic sees the whole metadata."""

from mas.adapters.db.models.base import Base
from mas.adapters.db.models.platform import (
    JobRunAtRow,
    JobRunRow,
    LeaseRow,
    OutboxEventRow,
    OutboxMessageRow,
)

__all__ = ["Base", "JobRunAtRow", "JobRunRow", "LeaseRow", "OutboxEventRow", "OutboxMessageRow"]
