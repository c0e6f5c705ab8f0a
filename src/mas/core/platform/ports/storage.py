"""Blob storage: a local folder by default (``mas.adapters.storage.local``), S3 in production
(``mas.adapters.storage.s3``).

Large files (meeting recordings) never pass through our process on their way in: the server
starts a multipart upload, hands the browser one presigned URL per part, the browser PUTs each
part there and reports the ``ETag`` each PUT answered, and the server completes the upload with
that list. Downloads are presigned GET URLs. The port speaks plain strings and ints, so no
storage vendor's types leak into the core.
"""

from __future__ import annotations

from typing import Protocol

MAX_PRESIGN_S = 7 * 24 * 3600
"""The longest a presigned URL may live (S3's own limit for SigV4 URLs)."""
MAX_PART_NUMBER = 10_000


class Storage(Protocol):
    async def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; raises ``NotFound`` when absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def presign_get(self, key: str, expires_s: int) -> str:
        """A URL anyone holding it can GET the object from for ``expires_s`` seconds."""
        ...

    async def start_multipart(self, key: str, content_type: str) -> str:
        """Start a multipart upload of ``key``; answers its upload id."""
        ...

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires_s: int) -> str:
        """The URL a client PUTs part ``part_number`` (1..10000) to; the answer's ``ETag``
        header is the part's etag for ``complete_multipart``."""
        ...

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        """Join the parts ``(part_number, etag)`` in ascending order into ``key``. A part that
        was not uploaded, or whose etag differs, raises ``ValidationFailed``; an unknown or
        aborted upload raises ``NotFound`` (a finished one may too, or S3 may take the retry)."""
        ...

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; aborting an unknown or finished upload is not an
        error (the caller wanted it gone)."""
        ...
