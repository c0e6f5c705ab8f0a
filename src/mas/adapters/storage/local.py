"""Blob storage in a local folder: the embedded default.

Keys are relative POSIX paths under ``root``. A key that could leave the root is refused
before any file is touched. Writes go to a temporary file in the target folder and are moved in
with ``os.replace``, so a reader sees the old bytes or the new ones, never half a file.
``content_type`` is not kept: the port never returns it, and a download can guess it from the
key's extension.

Presigned URLs point at our own API (``mas.http.platform.storage``):
``GET /api/storage/objects/{key}`` serves a file and
``PUT /api/storage/uploads/{upload_id}/parts?part_number=n`` takes a part of a multipart
upload. Each carries ``exp`` (a Unix time) and ``sig``, an HMAC-SHA256 of what the URL allows
and until when under a key derived from the installation's secret, so the URL alone authorises
the request, as an S3 presigned URL does. Parts wait in a folder beside the root
(``<root>.uploads/<upload_id>/``), never inside it, so no key can reach them;
``complete_multipart`` joins them into the key with the same temporary-file-and-rename as
``put``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlencode

from mas.adapters.storage.keys import (
    bare_etag,
    check_expiry,
    check_key,
    check_local_upload_id,
    check_part_number,
    check_parts,
)
from mas.core.platform.errors import Conflict, Forbidden, NotConfigured, NotFound, ValidationFailed

OBJECTS_PATH = "/api/storage/objects"
UPLOADS_PATH = "/api/storage/uploads"
_COPY_CHUNK = 1 << 20


def signing_key(secret: str) -> bytes:
    """The URL-signing key of an installation secret (a key of its own: a leaked URL tells
    nothing about the secret's other uses)."""
    return hmac.new(secret.encode(), b"mas.storage.presigned-urls.v1", hashlib.sha256).digest()


class LocalStorage:
    def __init__(
        self,
        root: str | Path,
        *,
        base_url: str = "",
        signing_key: bytes = b"",
        now: Callable[[], float] = time.time,
    ) -> None:
        self._root = Path(root).resolve()
        self._uploads = self._root.with_name(self._root.name + ".uploads")
        self._base_url = base_url.rstrip("/")
        self._key = signing_key
        self._now = now

    @property
    def root(self) -> Path:
        return self._root

    async def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, key)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(lambda: self._path(key).is_file())

    async def delete(self, key: str) -> None:
        """Deleting a missing key is not an error: the caller wanted it gone, and it is."""
        await asyncio.to_thread(self._unlink, key)

    # --- presigned URLs and multipart uploads -------------------------------------------------

    async def presign_get(self, key: str, expires_s: int) -> str:
        check_key(key)
        exp = self._expiry(expires_s)
        query = urlencode({"exp": exp, "sig": self._sign("get", key, str(exp))})
        return f"{self._base_url}{OBJECTS_PATH}/{quote(key)}?{query}"

    async def start_multipart(self, key: str, content_type: str) -> str:
        self._path(key)
        upload_id = secrets.token_urlsafe(24)
        meta = {"key": key, "content_type": content_type}
        await asyncio.to_thread(self._start, upload_id, meta)
        return upload_id

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires_s: int) -> str:
        check_key(key)
        check_local_upload_id(upload_id)
        check_part_number(part_number)
        exp = self._expiry(expires_s)
        sig = self._sign("part", upload_id, str(part_number), str(exp))
        query = urlencode({"part_number": part_number, "exp": exp, "sig": sig})
        return f"{self._base_url}{UPLOADS_PATH}/{upload_id}/parts?{query}"

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        self._path(key)
        check_parts(parts)
        await asyncio.to_thread(self._complete, key, check_local_upload_id(upload_id), parts)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        check_key(key)
        folder = self._upload_folder(check_local_upload_id(upload_id))
        if await asyncio.to_thread(self._upload_key, folder) in (key, None):
            await asyncio.to_thread(shutil.rmtree, folder, True)

    def verify_get(self, key: str, exp: int, sig: str) -> None:
        """Refuse (403) a GET URL this storage did not sign, or signed for less time."""
        self._verify(sig, exp, "get", key, str(exp))

    def verify_part(self, upload_id: str, part_number: int, exp: int, sig: str) -> None:
        self._verify(sig, exp, "part", upload_id, str(part_number), str(exp))

    async def write_part(self, upload_id: str, part_number: int, data: bytes) -> str:
        """Keep one part of an open upload (a part sent again replaces it); answers its etag."""
        check_part_number(part_number)
        folder = self._upload_folder(check_local_upload_id(upload_id))
        return await asyncio.to_thread(self._write_part, folder, part_number, data)

    def _expiry(self, expires_s: int) -> int:
        if not self._key:
            raise NotConfigured("storage URL signing")
        return int(self._now()) + check_expiry(expires_s)

    def _sign(self, *fields: str) -> str:
        mac = hmac.new(self._key, "\n".join(fields).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _verify(self, sig: str, exp: int, *fields: str) -> None:
        if not self._key:
            raise NotConfigured("storage URL signing")
        if not hmac.compare_digest(self._sign(*fields).encode(), sig.encode()):
            raise Forbidden("the URL's signature does not match", code="bad_signature")
        if exp <= self._now():
            raise Forbidden("the URL has expired", code="url_expired")

    def _upload_folder(self, upload_id: str) -> Path:
        return self._uploads / upload_id

    @staticmethod
    def _upload_key(folder: Path) -> str | None:
        try:
            meta = json.loads((folder / "upload.json").read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None
        return str(meta["key"])

    def _start(self, upload_id: str, meta: dict[str, str]) -> None:
        folder = self._upload_folder(upload_id)
        folder.mkdir(parents=True)
        (folder / "upload.json").write_text(json.dumps(meta))

    def _write_part(self, folder: Path, part_number: int, data: bytes) -> str:
        if self._upload_key(folder) is None:
            raise NotFound("no open upload with this id (completed, aborted or never started)")
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{part_number}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, folder / f"{part_number}.part")
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'

    def _complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        folder = self._upload_folder(upload_id)
        if self._upload_key(folder) != key:
            raise NotFound(f"no open upload {upload_id!r} of '{key}'")
        # One completion claims the upload by renaming its folder (atomic): a second one racing
        # it finds the upload gone, as S3 answers NoSuchUpload, instead of half-read parts.
        claimed = folder.with_name(f"{folder.name}.joining-{secrets.token_hex(4)}")
        try:
            os.rename(folder, claimed)
        except FileNotFoundError:
            raise NotFound(f"no open upload {upload_id!r} of '{key}'") from None
        try:
            files = []
            for number, etag in parts:
                file = claimed / f"{number}.part"
                try:
                    digest = hashlib.md5(file.read_bytes(), usedforsecurity=False).hexdigest()
                except FileNotFoundError:
                    raise ValidationFailed(
                        f"part {number} was not uploaded", code="invalid_part"
                    ) from None
                if digest != bare_etag(etag):
                    raise ValidationFailed(
                        f"part {number}'s etag does not match the uploaded part",
                        code="invalid_part",
                    )
                files.append(file)
            self._write_from(key, files)
        except BaseException:
            os.rename(claimed, folder)  # a refused join leaves the upload open for a retry
            raise
        shutil.rmtree(claimed, ignore_errors=True)

    def _path(self, key: str) -> Path:
        parts = check_key(key)
        path = self._root.joinpath(*parts)
        # Lexically safe already; this also refuses a symlink inside root that points outside.
        if not path.resolve().is_relative_to(self._root):
            raise ValidationFailed(f"storage key {key!r} resolves outside the storage folder")
        return path

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no stored file at '{key}'") from None

    def _unlink(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self._path(key).unlink()

    def _write(self, key: str, data: bytes) -> None:
        self._write_with(key, lambda handle: handle.write(data))

    def _write_from(self, key: str, files: list[Path]) -> None:
        def copy(handle: IO[bytes]) -> None:
            for file in files:
                with file.open("rb") as source:
                    shutil.copyfileobj(source, handle, _COPY_CHUNK)

        self._write_with(key, copy)

    def _write_with(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise Conflict(f"cannot store '{key}': a parent of it is a stored file") from None
        if path.is_dir():
            raise Conflict(f"cannot store '{key}': it is a folder of other keys")
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
