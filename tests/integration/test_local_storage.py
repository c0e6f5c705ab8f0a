"""LocalStorage on a real temporary folder."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from mas.adapters.storage.local import LocalStorage
from mas.core.platform.errors import Conflict, NotFound, ValidationFailed


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "storage"


@pytest.fixture
def storage(root: Path) -> LocalStorage:
    return LocalStorage(root)


async def test_put_then_get_round_trips_nested_keys(storage: LocalStorage, root: Path) -> None:
    await storage.put("resumes/2025/asha.pdf", b"%PDF-1.7 ...", "application/pdf")
    assert await storage.get("resumes/2025/asha.pdf") == b"%PDF-1.7 ..."
    assert await storage.exists("resumes/2025/asha.pdf")
    assert (root / "resumes" / "2025" / "asha.pdf").read_bytes() == b"%PDF-1.7 ..."


async def test_overwrite_replaces_and_leaves_no_temp_files(
    storage: LocalStorage, root: Path
) -> None:
    await storage.put("a/b.txt", b"first")
    await storage.put("a/b.txt", b"second")
    assert await storage.get("a/b.txt") == b"second"
    assert sorted(p.name for p in (root / "a").iterdir()) == ["b.txt"]


async def test_missing_key_is_not_found(storage: LocalStorage) -> None:
    assert not await storage.exists("nope.txt")
    with pytest.raises(NotFound, match="nope.txt"):
        await storage.get("nope.txt")


async def test_a_folder_is_not_a_stored_file(storage: LocalStorage) -> None:
    await storage.put("dir/file.txt", b"x")
    assert not await storage.exists("dir")
    with pytest.raises(NotFound):
        await storage.get("dir")
    with pytest.raises(Conflict):
        await storage.put("dir", b"y")
    with pytest.raises(Conflict):
        await storage.put("dir/file.txt/child", b"y")


async def test_delete_is_idempotent(storage: LocalStorage) -> None:
    await storage.put("x.bin", b"1")
    await storage.delete("x.bin")
    assert not await storage.exists("x.bin")
    await storage.delete("x.bin")
    await storage.delete("never/was/here.bin")


@pytest.mark.parametrize(
    "key",
    [
        "../outside.txt",
        "a/../../outside.txt",
        "a/../b.txt",
        "/etc/passwd",
        "a\x00b",
        "",
        "a//b",
        "./a",
        "a/",
        "a\\..\\b",
    ],
)
async def test_keys_that_could_escape_the_root_are_refused(
    storage: LocalStorage, root: Path, key: str
) -> None:
    with pytest.raises(ValidationFailed):
        await storage.put(key, b"x")
    with pytest.raises(ValidationFailed):
        await storage.get(key)
    with pytest.raises(ValidationFailed):
        await storage.exists(key)
    with pytest.raises(ValidationFailed):
        await storage.delete(key)
    assert not (root.parent / "outside.txt").exists()


@pytest.fixture
def secret(root: Path, tmp_path: Path) -> Path:
    """A folder outside the root, reachable through ``root/link``."""
    folder = tmp_path / "secret"
    folder.mkdir()
    (folder / "key.pem").write_bytes(b"private")
    root.mkdir(parents=True, exist_ok=True)
    os.symlink(folder, root / "link")
    return folder


async def test_a_symlink_out_of_the_root_is_refused(storage: LocalStorage, secret: Path) -> None:
    with pytest.raises(ValidationFailed):
        await storage.get("link/key.pem")
    with pytest.raises(ValidationFailed):
        await storage.put("link/new.txt", b"x")
    assert not (secret / "new.txt").exists()


async def test_concurrent_writers_leave_one_whole_value(storage: LocalStorage) -> None:
    values = [bytes([n]) * 200_000 for n in range(8)]
    await asyncio.gather(*(storage.put("same.bin", value) for value in values))
    assert await storage.get("same.bin") in values
