"""Persistence port of ``system_config``: operator-set values by key (checks and defaults live
in ``mas.core.crm.config``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec


class StoredConfig(msgspec.Struct, frozen=True):
    value: Any
    updated_at: datetime | None = None
    updated_by: uuid.UUID | None = None


class SystemConfigRepository(Protocol):
    async def get(self, key: str) -> StoredConfig | None: ...

    async def put(self, key: str, value: Any, by: uuid.UUID, now: datetime) -> None:
        """Insert or replace the value of ``key``."""
        ...
