"""The declarative base: UUIDv7 id, created_at, updated_at on every table."""

from __future__ import annotations

from advanced_alchemy.base import UUIDv7AuditBase


class Base(UUIDv7AuditBase):
    __abstract__ = True


metadata = Base.metadata
