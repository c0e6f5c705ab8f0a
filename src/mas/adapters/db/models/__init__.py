"""ORM models. Import every module here so Alembic sees the whole metadata."""

from mas.adapters.db.models.base import Base
from mas.adapters.db.models.identity import (
    AuditEventRow,
    MasterLoginStateRow,
    OtpCodeRow,
    RefreshTokenRow,
    SalesHeadPermissionRow,
    UserRow,
    VendorApiKeyRow,
)
from mas.adapters.db.models.platform import (
    JobRunAtRow,
    JobRunRow,
    LeaseRow,
    OutboxEventRow,
    OutboxMessageRow,
)

__all__ = [
    "AuditEventRow",
    "Base",
    "JobRunAtRow",
    "JobRunRow",
    "LeaseRow",
    "MasterLoginStateRow",
    "OtpCodeRow",
    "OutboxEventRow",
    "OutboxMessageRow",
    "RefreshTokenRow",
    "SalesHeadPermissionRow",
    "UserRow",
    "VendorApiKeyRow",
]
