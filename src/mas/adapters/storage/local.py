"""Blob storage in a local folder: the embedded default.

Keys are relative POSIX paths under ``root``. A key that could leave the root is refused
before any file is touched. Writes go to a temporary file in the target folder and are moved in
with ``os.replace``, so a reader sees the old bytes or the new ones, never half a file.
``content_type`` is not kept: the port never returns it, and a download can guess it from the
key's extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from mas.core.platform.errors import Conflict, NotFound, ValidationFailed


class LocalStorage:
    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).resolve()

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

    def _path(self, key: str) -> Path:
        if not key or "\x00" in key or "\\" in key or key.startswith("/"):
            raise ValidationFailed(f"storage key {key!r} must be a relative path")
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValidationFailed(f"storage key {key!r} has an empty, '.' or '..' segment")
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
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
