"""The room store on NATS JetStream KV, shared by every replica on one NATS.

Two buckets: ``rt_rooms`` holds ``{room}.members`` (a JSON list of user ids) and
``{room}.state`` (the blob; its KV revision is the ``RoomState.revision``); ``rt_presence``
holds ``{room}`` → ``{user_id: last heartbeat, epoch seconds}`` and ages out after the
presence TTL, so a room whose replicas all died is empty 30 s later without anyone cleaning up.
A user's own presence expires by the timestamp (stale users are pruned on the next write).

Every read-modify-write is a compare-and-set on the entry revision, retried on conflict, so
replicas joining and heart-beating the same room at once never lose each other's changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue

from mas.core.platform.errors import ExternalUnavailable
from mas.core.platform.ports.rooms import PRESENCE_TTL_S, RoomState, check_room, check_state

log = logging.getLogger("mas.realtime")

_CAS_ATTEMPTS = 64
_Change = Callable[[bytes | None], bytes | None]


class NatsRoomStore:
    def __init__(
        self,
        connection: Client | JetStreamContext,
        *,
        rooms_bucket: str = "rt_rooms",
        presence_bucket: str = "rt_presence",
        presence_ttl_s: int = PRESENCE_TTL_S,
        rooms_ttl_s: int = 24 * 3600,
        clock: Callable[[], float] = time.time,
        replicas: int = 1,
    ) -> None:
        """``rooms_ttl_s``: a room nobody wrote to for that long is forgotten (a safety net;
        rooms are dropped when they end). ``clock``: wall-clock epoch seconds, shared by the
        replicas for presence timestamps. ``replicas``: JetStream copies of each bucket."""
        self._replicas = replicas
        self._js = connection.jetstream() if isinstance(connection, Client) else connection
        self._names = {
            "rooms": (rooms_bucket, rooms_ttl_s),
            "presence": (presence_bucket, presence_ttl_s),
        }
        self._ttl = presence_ttl_s
        self._clock = clock
        self._buckets: dict[str, KeyValue] = {}
        self._lock = asyncio.Lock()

    async def join(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        async with self._unavailable("join"):
            members = await self._change_members(room, lambda ids: ids | {user_id})
            await self.heartbeat(room, user_id)
            return members

    async def leave(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        async with self._unavailable("leave"):
            members = await self._change_members(room, lambda ids: ids - {user_id})
            await self._change_presence(room, lambda seen: seen.pop(str(user_id), None))
            return members

    async def members(self, room: str) -> frozenset[uuid.UUID]:
        async with self._unavailable("members"):
            raw, _ = await _read(await self._bucket("rooms"), f"{check_room(room)}.members")
            return _ids(raw)

    async def heartbeat(self, room: str, user_id: uuid.UUID) -> None:
        now = self._clock()
        async with self._unavailable("heartbeat"):
            await self._change_presence(room, lambda seen: seen.__setitem__(str(user_id), now))

    async def present(self, room: str) -> frozenset[uuid.UUID]:
        async with self._unavailable("present"):
            raw, _ = await _read(await self._bucket("presence"), check_room(room))
            seen = msgspec.json.decode(raw, type=dict[str, float]) if raw else {}
            now = self._clock()
            return frozenset(uuid.UUID(user) for user, at in seen.items() if now - at < self._ttl)

    async def state(self, room: str) -> RoomState | None:
        async with self._unavailable("state"):
            raw, revision = await _read(await self._bucket("rooms"), f"{check_room(room)}.state")
            return None if raw is None else RoomState(raw, revision)

    async def put_state(self, room: str, data: bytes, revision: int) -> RoomState | None:
        key = f"{check_room(room)}.state"
        check_state(data)
        async with self._unavailable("put_state"):
            kv = await self._bucket("rooms")
            try:
                if revision == 0:
                    stored = await kv.create(key, data)
                else:
                    stored = await kv.update(key, data, last=revision)
            except KeyWrongLastSequenceError:
                return None
            return RoomState(data, stored)

    async def drop(self, room: str) -> None:
        check_room(room)
        async with self._unavailable("drop"):
            rooms = await self._bucket("rooms")
            await rooms.purge(f"{room}.members")
            await rooms.purge(f"{room}.state")
            await (await self._bucket("presence")).purge(room)

    async def close(self) -> None:
        self._buckets.clear()

    async def _change_members(
        self, room: str, change: Callable[[frozenset[uuid.UUID]], frozenset[uuid.UUID]]
    ) -> frozenset[uuid.UUID]:
        result: list[frozenset[uuid.UUID]] = []

        def apply(raw: bytes | None) -> bytes | None:
            members = change(_ids(raw))
            result[:] = [members]
            return msgspec.json.encode(sorted(str(m) for m in members)) if members else None

        await _compare_and_set(await self._bucket("rooms"), f"{check_room(room)}.members", apply)
        return result[0]

    async def _change_presence(
        self, room: str, change: Callable[[dict[str, float]], object]
    ) -> None:
        now = self._clock()

        def apply(raw: bytes | None) -> bytes | None:
            seen = msgspec.json.decode(raw, type=dict[str, float]) if raw else {}
            seen = {user: at for user, at in seen.items() if now - at < self._ttl}
            change(seen)
            return msgspec.json.encode(seen) if seen else None

        await _compare_and_set(await self._bucket("presence"), check_room(room), apply)

    async def _bucket(self, kind: str) -> KeyValue:
        kv = self._buckets.get(kind)
        if kv is not None:
            return kv
        async with self._lock:
            if kind not in self._buckets:
                self._buckets[kind] = await self._open(*self._names[kind])
            return self._buckets[kind]

    async def _open(self, bucket: str, ttl_s: int) -> KeyValue:
        for attempt in range(3):
            try:
                return await self._js.key_value(bucket)
            except BucketNotFoundError:
                pass
            try:
                return await self._js.create_key_value(
                    bucket=bucket, ttl=ttl_s, history=1, replicas=self._replicas
                )
            except BadRequestError:
                # Another replica is creating it right now: bind to theirs.
                await asyncio.sleep(0.05 * (attempt + 1))
        return await self._js.key_value(bucket)

    @asynccontextmanager
    async def _unavailable(self, operation: str) -> AsyncIterator[None]:
        try:
            yield
        except (nats.errors.Error, TimeoutError) as exc:
            log.warning("rooms.unavailable", extra={"operation": operation, "error": repr(exc)})
            raise ExternalUnavailable(f"room store (NATS KV) is unavailable: {exc!r}") from exc


def _ids(raw: bytes | None) -> frozenset[uuid.UUID]:
    return frozenset(msgspec.json.decode(raw, type=list[uuid.UUID])) if raw else frozenset()


async def _read(kv: KeyValue, key: str) -> tuple[bytes | None, int]:
    try:
        entry = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None, 0
    return entry.value or b"", entry.revision or 0


async def _compare_and_set(kv: KeyValue, key: str, change: _Change) -> None:
    """Apply ``change`` to the stored value (None: absent; returning None deletes it)."""
    for _ in range(_CAS_ATTEMPTS):
        current, revision = await _read(kv, key)
        new = change(current)
        try:
            if new is None:
                if revision:
                    await kv.delete(key, last=revision)
            elif revision:
                await kv.update(key, new, last=revision)
            else:
                await kv.create(key, new)
        except KeyWrongLastSequenceError:
            continue
        return
    raise ExternalUnavailable(f"room key {key!r} is too contended to update")
