"""Blob storage: a local folder by default, S3/Drive later."""

from __future__ import annotations

from typing import Protocol


class Storage(Protocol):
    async def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; raises ``NotFound`` when absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...
