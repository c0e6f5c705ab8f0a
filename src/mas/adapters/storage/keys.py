"""Rules every storage adapter applies to keys and presign lifetimes, so that a key valid on the
local folder is valid on S3 and the reverse."""

from __future__ import annotations

import re

from mas.core.platform.errors import ValidationFailed
from mas.core.platform.ports.storage import MAX_PART_NUMBER, MAX_PRESIGN_S

MAX_KEY_BYTES = 1024  # S3's limit
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def check_key(key: str) -> list[str]:
    """The key's segments; a key that is not a plain relative path is refused."""
    if not key or "\x00" in key or "\\" in key or key.startswith("/"):
        raise ValidationFailed(f"storage key {key!r} must be a relative path")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValidationFailed(f"storage key is longer than {MAX_KEY_BYTES} bytes")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValidationFailed(f"storage key {key!r} has an empty, '.' or '..' segment")
    return parts


def check_expiry(expires_s: int) -> int:
    if not 1 <= expires_s <= MAX_PRESIGN_S:
        raise ValidationFailed(f"a presigned URL lives 1..{MAX_PRESIGN_S} s, not {expires_s}")
    return expires_s


def check_part_number(part_number: int) -> int:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValidationFailed(f"part numbers are 1..{MAX_PART_NUMBER}, not {part_number}")
    return part_number


def check_local_upload_id(upload_id: str) -> str:
    """The local adapter's upload ids name folders: only its own shape is accepted."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise ValidationFailed("not an upload id of this storage")
    return upload_id


def check_parts(parts: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """At least one part, ascending part numbers without repeats (what S3 requires too)."""
    if not parts:
        raise ValidationFailed("a multipart upload needs at least one part", code="invalid_part")
    numbers = [check_part_number(number) for number, _ in parts]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise ValidationFailed(
            "parts must be listed in ascending part number order, each once",
            code="invalid_part_order",
        )
    return parts


def bare_etag(etag: str) -> str:
    """An etag without the quotes HTTP puts around it."""
    return etag.strip().removeprefix("W/").strip('"')
