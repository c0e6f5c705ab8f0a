"""The ``Cache`` port over NATS JetStream KV, shared by every process on the same NATS.

KV TTLs belong to a bucket, so each TTL value gets its own bucket ``{prefix}_{ttl}s`` (created
on first use). Writers know the TTL and go straight to that bucket; ``get`` and ``delete`` only
know the key, so they look in every bucket with the prefix. The bucket list comes from the
server (``STREAM.NAMES``) and is re-read on every miss and before every delete: a bucket that
another process created a moment ago is never overlooked, at the price of one extra request per
miss. Use one TTL per key; if a key is written under two TTLs, ``get`` may return either value.

Counters use compare-and-set on the entry revision, so increments from many processes add up.
Unlike ``MemoryCache``, every write (each increment too) restarts the entry's TTL, because
JetStream ages messages, not keys.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoStreamResponseError,
)
from nats.js.kv import KeyValue

from mas.adapters.telemetry.metrics import count_lookup
from mas.core.platform.errors import ExternalUnavailable

log = logging.getLogger("mas.cache")

T = TypeVar("T")

_SAFE = frozenset(string.ascii_letters + string.digits + "-_/")
_MAX_KEY = 480
_CAS_ATTEMPTS = 64


def kv_key(key: str) -> str:
    """Map any string to a valid, distinct KV key: other bytes become ``=XX`` (hex, UTF-8)."""
    if not key:
        return "="
    encoded = "".join(
        ch if ch in _SAFE else "".join(f"={b:02X}" for b in ch.encode()) for ch in key
    )
    if len(encoded) > _MAX_KEY:
        # "=H" never comes out of the escaping above (H is not a hex digit), so no clash.
        return "=H" + hashlib.sha256(key.encode()).hexdigest()
    return encoded


class NatsKvCache:
    def __init__(
        self,
        connection: Client | JetStreamContext,
        prefix: str = "mas_cache",
        *,
        owns_connection: bool = False,
        replicas: int = 1,
    ) -> None:
        """``owns_connection``: ``close()`` also drains the client (leave False when shared).
        ``replicas``: JetStream copies of each bucket this cache creates."""
        self._replicas = replicas
        if not re.fullmatch(r"[A-Za-z0-9_-]+", prefix):
            raise ValueError(f"NATS KV bucket prefix {prefix!r} may only use [A-Za-z0-9_-]")
        if isinstance(connection, Client):
            self._nc: Client | None = connection
            self._js = connection.jetstream()
        else:
            self._nc = None
            self._js = connection
        self._owns = owns_connection
        self._prefix = prefix
        self._bucket_re = re.compile(rf"KV_{re.escape(prefix)}_(\d+)s")
        self._buckets: dict[int, KeyValue] = {}
        self._lock = asyncio.Lock()

    def bucket_name(self, ttl_s: int) -> str:
        return f"{self._prefix}_{ttl_s}s"

    async def get(self, key: str) -> bytes | None:
        value = await self._lookup(key)
        count_lookup(key, value is not None)
        return value

    async def _lookup(self, key: str) -> bytes | None:
        name = kv_key(key)
        async with self._unavailable("get"):
            found = await self._find(name, list(self._buckets.values()))
            if found is not None:
                return found
            known = set(self._buckets)
            await self._refresh()
            fresh = [kv for ttl, kv in self._buckets.items() if ttl not in known]
            return await self._find(name, fresh)

    async def set(self, key: str, value: bytes, ttl_s: int) -> None:
        name = kv_key(key)
        async with self._unavailable("set"):
            await self._write(ttl_s, lambda kv: kv.put(name, value))

    async def delete(self, key: str) -> None:
        name = kv_key(key)
        async with self._unavailable("delete"):
            await self._refresh()
            await asyncio.gather(*(kv.delete(name) for kv in self._buckets.values()))

    async def incr(self, key: str, ttl_s: int) -> int:
        name = kv_key(key)
        async with self._unavailable("incr"):
            for attempt in range(_CAS_ATTEMPTS):
                value = await self._write(ttl_s, lambda kv: _increment(kv, name))
                if value is not None:
                    return value
                if attempt >= 2:
                    # Many writers on one counter: spread the retries out a little.
                    await asyncio.sleep(random.uniform(0, 0.002 * attempt))
            raise ExternalUnavailable(f"cache counter {key!r} is too contended to increment")

    async def add_if_absent(self, key: str, value: bytes, ttl_s: int) -> bool:
        name = kv_key(key)
        async with self._unavailable("add_if_absent"):
            return await self._write(ttl_s, lambda kv: _create(kv, name, value))

    async def close(self) -> None:
        self._buckets.clear()
        if self._owns and self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()

    async def _bucket(self, ttl_s: int) -> KeyValue:
        if ttl_s < 1:
            raise ValueError(f"ttl_s must be at least 1 second, got {ttl_s}")
        kv = self._buckets.get(ttl_s)
        if kv is not None:
            return kv
        async with self._lock:
            kv = self._buckets.get(ttl_s)
            if kv is None:
                kv = await self._open(ttl_s)
                self._buckets[ttl_s] = kv
            return kv

    async def _open(self, ttl_s: int) -> KeyValue:
        bucket = self.bucket_name(ttl_s)
        for attempt in range(3):
            try:
                return await self._js.key_value(bucket)
            except BucketNotFoundError:
                pass
            try:
                kv = await self._js.create_key_value(
                    bucket=bucket, ttl=ttl_s, history=1, replicas=self._replicas
                )
            except BadRequestError:
                # Another process is creating it this very moment (NATS answers "subjects
                # overlap with an existing stream"): bind to theirs once it is there.
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            log.info("cache.bucket_created", extra={"bucket": bucket, "ttl_s": ttl_s})
            return kv
        return await self._js.key_value(bucket)

    async def _write(self, ttl_s: int, op: Callable[[KeyValue], Awaitable[T]]) -> T:
        kv = await self._bucket(ttl_s)
        try:
            return await op(kv)
        except NoStreamResponseError:
            # The bucket was deleted under us (an operator, a test cleanup): make it again once.
            self._buckets.pop(ttl_s, None)
            return await op(await self._bucket(ttl_s))

    async def _refresh(self) -> None:
        """Re-read the bucket list from the server, so buckets made elsewhere are seen."""
        names: list[str] = []
        while True:
            request = {"subject": "$KV.*.>", "offset": len(names)}
            # nats-py has no public call for STREAM.NAMES with a subject filter.
            reply = await self._js._api_request(
                f"{self._js._prefix}.STREAM.NAMES",
                json.dumps(request).encode(),
            )
            page = reply.get("streams") or []
            names.extend(page)
            if not page or len(names) >= reply.get("total", 0):
                break
        on_server = {
            int(match.group(1))
            for match in map(self._bucket_re.fullmatch, names)
            if match is not None
        }
        async with self._lock:
            for ttl_s in set(self._buckets) - on_server:
                del self._buckets[ttl_s]
            for ttl_s in on_server - set(self._buckets):
                try:
                    self._buckets[ttl_s] = await self._js.key_value(self.bucket_name(ttl_s))
                except BucketNotFoundError:
                    continue  # deleted between the listing and the bind

    async def _find(self, name: str, buckets: list[KeyValue]) -> bytes | None:
        if not buckets:
            return None
        values = await asyncio.gather(*(_value(kv, name) for kv in buckets))
        return next((value for value in values if value is not None), None)

    @asynccontextmanager
    async def _unavailable(self, operation: str) -> AsyncIterator[None]:
        """NATS trouble becomes ``ExternalUnavailable`` (a 503), logged once with its cause."""
        try:
            yield
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning(
                "cache.unavailable",
                extra={"operation": operation, "prefix": self._prefix, "error": repr(exc)},
            )
            raise ExternalUnavailable(f"cache (NATS KV) is unavailable: {exc!r}") from exc


async def _value(kv: KeyValue, name: str) -> bytes | None:
    try:
        entry = await kv.get(name)
    except KeyNotFoundError:
        return None
    return entry.value or b""


async def _create(kv: KeyValue, name: str, value: bytes) -> bool:
    try:
        await kv.create(name, value)
    except KeyWrongLastSequenceError:
        return False
    return True


async def _increment(kv: KeyValue, name: str) -> int | None:
    """One compare-and-set step; None when another writer got in first."""
    try:
        entry = await kv.get(name)
    except KeyNotFoundError:
        return 1 if await _create(kv, name, b"1") else None
    try:
        value = int(entry.value or b"0") + 1
    except ValueError:
        raise ValueError(f"cache key {name!r} does not hold a counter") from None
    try:
        await kv.update(name, str(value).encode(), last=entry.revision)
    except KeyWrongLastSequenceError:
        return None
    return value
