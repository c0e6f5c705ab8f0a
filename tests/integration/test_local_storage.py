"""LocalStorage on a real temporary folder."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.storage.local import LocalStorage
from mas.core.platform.errors import Conflict, NotConfigured, NotFound, ValidationFailed


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


# --- presigned URLs and multipart uploads through the app's own routes -----------------------

SIGNING_KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def signed(root: Path, clock: Clock) -> LocalStorage:
    return LocalStorage(root, base_url="http://testserver", signing_key=SIGNING_KEY, now=clock)


def _relative(url: str) -> str:
    assert url.startswith("http://testserver/api/storage/")
    return url.removeprefix("http://testserver")


@pytest.fixture
async def app_client(signed: LocalStorage, sqlite_container: Any) -> AsyncIterator[Any]:
    """The real app, its container's storage swapped for the signed folder under test."""
    from litestar.testing import AsyncTestClient

    from mas.http.app import create_app

    sqlite_container.storage = signed
    app = create_app(container=sqlite_container)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        yield client


async def test_the_container_builds_a_signing_local_storage(sqlite_container: Any) -> None:
    storage = sqlite_container.storage
    assert isinstance(storage, LocalStorage)
    url = await storage.presign_get("a/b.txt", 60)
    assert url.startswith("http://127.0.0.1:8000/api/storage/objects/a/b.txt?exp=")


async def test_presigned_get_serves_the_file(
    signed: LocalStorage, app_client: Any, clock: Clock
) -> None:
    await signed.put("recordings/m 1/clip.webm", b"webm-bytes")
    url = await signed.presign_get("recordings/m 1/clip.webm", 900)
    assert "recordings/m%201/clip.webm" in url
    answer = await app_client.get(_relative(url))
    assert answer.status_code == 200, answer.text
    assert answer.content == b"webm-bytes"
    assert answer.headers["content-type"] == "video/webm"

    clock.now += 901
    expired = await app_client.get(_relative(url))
    assert expired.status_code == 403
    assert expired.json()["code"] == "url_expired"


async def test_a_tampered_url_is_refused_before_the_file_is_looked_up(
    signed: LocalStorage, app_client: Any
) -> None:
    await signed.put("a.txt", b"A")
    await signed.put("b.txt", b"B")
    url = await signed.presign_get("a.txt", 60)
    other = _relative(url).replace("/objects/a.txt", "/objects/b.txt")
    answer = await app_client.get(other)
    assert answer.status_code == 403
    assert answer.json()["code"] == "bad_signature"
    missing = await app_client.get("/api/storage/objects/nope.txt?exp=9999999999&sig=abc")
    assert missing.status_code == 403
    later = _relative(url).replace("exp=", "exp=1")
    assert (await app_client.get(later)).json()["code"] == "bad_signature"


async def test_a_signed_url_for_a_missing_file_is_404(
    signed: LocalStorage, app_client: Any
) -> None:
    url = await signed.presign_get("gone.txt", 60)
    assert (await app_client.get(_relative(url))).status_code == 404


async def test_multipart_upload_through_presigned_part_urls(
    signed: LocalStorage, app_client: Any, root: Path
) -> None:
    key = "recordings/slot-1/meeting.webm"
    upload_id = await signed.start_multipart(key, "video/webm")
    first, second = b"a" * 300_000, b"b" * 1234
    etags = []
    for number, chunk in ((1, first), (2, second)):
        url = await signed.presign_part(key, upload_id, number, 600)
        answer = await app_client.put(_relative(url), content=chunk)
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] == answer.json()["etag"]
        etags.append((number, answer.headers["etag"]))
    assert not await signed.exists(key)
    await signed.complete_multipart(key, upload_id, etags)
    assert await signed.get(key) == first + second
    # The parts folder is gone, and was never inside the root.
    assert not (root.parent / "storage.uploads" / upload_id).exists()
    assert sorted(p.name for p in (root / "recordings" / "slot-1").iterdir()) == ["meeting.webm"]
    # Completing again: the upload is over.
    with pytest.raises(NotFound):
        await signed.complete_multipart(key, upload_id, etags)
    url = await signed.presign_part(key, upload_id, 3, 600)
    late = await app_client.put(_relative(url), content=b"late")
    assert late.status_code == 404


async def test_a_part_url_is_bound_to_its_upload_and_number(
    signed: LocalStorage, app_client: Any
) -> None:
    upload_id = await signed.start_multipart("x.bin", "application/octet-stream")
    url = _relative(await signed.presign_part("x.bin", upload_id, 1, 600))
    moved = url.replace("part_number=1", "part_number=2")
    assert moved != url
    answer = await app_client.put(moved, content=b"x")
    assert answer.status_code == 403
    assert answer.json()["code"] == "bad_signature"


async def test_complete_checks_every_part(signed: LocalStorage, app_client: Any) -> None:
    key = "v.webm"
    upload_id = await signed.start_multipart(key, "video/webm")
    url = await signed.presign_part(key, upload_id, 1, 600)
    etag = (await app_client.put(_relative(url), content=b"one")).headers["etag"]
    with pytest.raises(ValidationFailed, match="part 2 was not uploaded"):
        await signed.complete_multipart(key, upload_id, [(1, etag), (2, etag)])
    with pytest.raises(ValidationFailed, match="etag"):
        await signed.complete_multipart(key, upload_id, [(1, '"0000"')])
    with pytest.raises(ValidationFailed, match="ascending"):
        await signed.complete_multipart(key, upload_id, [(1, etag), (1, etag)])
    with pytest.raises(ValidationFailed):
        await signed.complete_multipart(key, upload_id, [])
    with pytest.raises(NotFound):
        await signed.complete_multipart("other.webm", upload_id, [(1, etag)])
    await signed.complete_multipart(key, upload_id, [(1, etag)])
    assert await signed.get(key) == b"one"


async def test_abort_drops_the_parts_and_is_idempotent(
    signed: LocalStorage, app_client: Any
) -> None:
    upload_id = await signed.start_multipart("y.bin", "application/octet-stream")
    url = await signed.presign_part("y.bin", upload_id, 1, 600)
    await app_client.put(_relative(url), content=b"y")
    await signed.abort_multipart("y.bin", upload_id)
    await signed.abort_multipart("y.bin", upload_id)
    assert (await app_client.put(_relative(url), content=b"y")).status_code == 404
    with pytest.raises(NotFound):
        await signed.complete_multipart("y.bin", upload_id, [(1, '"x"')])


@pytest.mark.parametrize("upload_id", ["../../etc", "short", "a/b" * 10, "x" * 65])
async def test_foreign_upload_ids_are_refused(signed: LocalStorage, upload_id: str) -> None:
    with pytest.raises(ValidationFailed):
        await signed.presign_part("k.bin", upload_id, 1, 60)
    with pytest.raises(ValidationFailed):
        await signed.write_part(upload_id, 1, b"x")
    with pytest.raises(ValidationFailed):
        await signed.complete_multipart("k.bin", upload_id, [(1, '"x"')])


async def test_presign_bounds_and_keys(signed: LocalStorage, storage: LocalStorage) -> None:
    with pytest.raises(ValidationFailed):
        await signed.presign_get("../secret", 60)
    with pytest.raises(ValidationFailed):
        await signed.presign_get("a.txt", 0)
    with pytest.raises(ValidationFailed):
        await signed.presign_get("a.txt", 7 * 24 * 3600 + 1)
    with pytest.raises(ValidationFailed):
        await signed.presign_part("a.txt", "A" * 32, 10_001, 60)
    with pytest.raises(ValidationFailed):
        await signed.start_multipart("../escape.webm", "video/webm")
    with pytest.raises(NotConfigured):  # no signing key: no URL, never an unsigned one
        await storage.presign_get("a.txt", 60)


async def test_two_completions_racing_join_once_and_a_refused_one_can_retry(
    storage: LocalStorage,
) -> None:
    """One completion claims the upload; the other finds it gone (S3's NoSuchUpload), never
    half-read parts. A completion refused for a wrong etag leaves the upload open."""
    upload = await storage.start_multipart("rec/a.webm", "video/webm")
    etag = await storage.write_part(upload, 1, b"x" * 1000)
    with pytest.raises(ValidationFailed):
        await storage.complete_multipart("rec/a.webm", upload, [(1, '"0"')])
    outcomes = await asyncio.gather(
        *(storage.complete_multipart("rec/a.webm", upload, [(1, etag)]) for _ in range(6)),
        return_exceptions=True,
    )
    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, NotFound) for o in outcomes if o is not None)
    assert await storage.get("rec/a.webm") == b"x" * 1000
