"""What both WhatsApp adapters share: size limits, signatures, phone forms, Retry-After."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from mas.core.comms.ports.whatsapp import BadWebhookBody

MAX_WEBHOOK_BYTES = 1_000_000
MAX_EVENTS = 1_000
MAX_RETRY_AFTER_S = 3_600
# Bounds on what a webhook may carry, so nothing unbounded reaches a column.
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Short = Annotated[str, msgspec.Meta(max_length=256)]
Text = Annotated[str, msgspec.Meta(max_length=65_536)]


def check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise BadWebhookBody(f"the webhook body is {len(body)} bytes; at most {limit} are read")


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def digits(phone_e164: str) -> str:
    """``+919812345678`` → ``919812345678`` (the providers' form)."""
    return phone_e164.removeprefix("+")


def e164(phone: str) -> str:
    phone = phone.strip()
    return phone if phone.startswith("+") else f"+{phone}"


def retry_after(value: str | None) -> int | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form only), capped at an hour."""
    if value is None or not value.strip().isdigit():
        return None
    return min(int(value.strip()), MAX_RETRY_AFTER_S)


def from_unix(value: str | int | None) -> datetime | None:
    try:
        seconds = int(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not 0 <= seconds < 10**11:
        return None
    return datetime.fromtimestamp(seconds, UTC)
