"""An in-memory ``Storage``: objects and open multipart uploads in dicts.

It answers as the local folder does (``mas.adapters.storage.local``): a part's etag is the MD5
of its bytes in quotes, completing checks every listed part and its etag, completing or aborting
an unknown upload is ``NotFound`` or nothing, deleting a missing key is no error. It also keeps
what was asked of it (``deleted``, ``aborted``) for tests to count, and fails on demand
(``down``: every call raises ``ExternalUnavailable``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from mas.core.platform.errors import ExternalUnavailable, NotFound, ValidationFailed
from mas.core.platform.ports.storage import MAX_PART_NUMBER


@dataclass
class OpenUpload:
    key: str
    content_type: str
    parts: dict[int, bytes] = field(default_factory=dict)


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


class FakeStorage:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, OpenUpload] = {}
        self.deleted: list[str] = []
        self.aborted: list[str] = []
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ExternalUnavailable("storage is down")

    async def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        self._check()
        self.objects[key] = data

    async def get(self, key: str) -> bytes:
        self._check()
        if key not in self.objects:
            raise NotFound(f"no stored file at '{key}'")
        return self.objects[key]

    async def exists(self, key: str) -> bool:
        self._check()
        return key in self.objects

    async def delete(self, key: str) -> None:
        self._check()
        self.deleted.append(key)
        self.objects.pop(key, None)

    async def presign_get(self, key: str, expires_s: int) -> str:
        self._check()
        return f"memory://objects/{quote(key)}?expires_s={expires_s}"

    async def start_multipart(self, key: str, content_type: str) -> str:
        self._check()
        upload_id = secrets.token_urlsafe(24)
        self.uploads[upload_id] = OpenUpload(key, content_type)
        return upload_id

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires_s: int) -> str:
        self._check()
        if not 1 <= part_number <= MAX_PART_NUMBER:
            raise ValidationFailed(f"part numbers are 1..{MAX_PART_NUMBER}, not {part_number}")
        return f"memory://uploads/{upload_id}/parts?part_number={part_number}"

    def upload_part(self, upload_id: str, part_number: int, data: bytes) -> str:
        """What a client's PUT to a part URL does; answers the part's etag."""
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise NotFound("no open upload with this id")
        upload.parts[part_number] = data
        return etag_of(data)

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        self._check()
        upload = self.uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise NotFound(f"no open upload {upload_id!r} of '{key}'")
        numbers = [number for number, _ in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise ValidationFailed("parts must be ascending, each once", code="invalid_part_order")
        for number, etag in parts:
            data = upload.parts.get(number)
            if data is None or etag_of(data).strip('"') != etag.strip().strip('"'):
                raise ValidationFailed(f"part {number} does not match", code="invalid_part")
        self.objects[key] = b"".join(upload.parts[number] for number in numbers)
        del self.uploads[upload_id]

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        self._check()
        self.aborted.append(upload_id)
        upload = self.uploads.get(upload_id)
        if upload is not None and upload.key == key:
            del self.uploads[upload_id]


if TYPE_CHECKING:  # mypy holds the fake to its port
    from mas.core.platform.ports.storage import Storage

    _storage: Storage = FakeStorage()
