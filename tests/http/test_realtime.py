"""``GET /api/events/stream`` and ``POST /api/realtime/tickets`` through the whole app.

Litestar's test client reads a response to its end, so the stream is driven over raw ASGI
here: the request goes in, SSE frames come out as they are sent, and a disconnect ends it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Role
from mas.core.platform.errors import ExternalUnavailable
from mas.core.platform.realtime import UserEvent, user_event
from mas.core.platform.tickets import TICKETS_PER_MINUTE, InvalidTicket
from tests.conftest import make_settings, open_container
from tests.http.conftest import Auth


@pytest.fixture
async def sqlite_container(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """Streams that live long enough to watch, keep-alives fast enough to see."""
    settings = make_settings(sqlite_url, tmp_path, sse_max_lifetime_s=30.0, sse_keepalive_s=0.2)
    c = await open_container(settings)
    yield c
    await c.close()


class SseCall:
    """One streaming request over raw ASGI: frames as the app sends them."""

    def __init__(self, app: Litestar, path: str, headers: dict[str, str]) -> None:
        self._app = app
        self._scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._gone = asyncio.Event()
        self._asked = False
        self._text = ""
        self.status = 0
        self.headers: dict[str, str] = {}

    async def __aenter__(self) -> SseCall:
        self._task = asyncio.create_task(self._app(self._scope, self._receive, self._send))  # type: ignore[arg-type]
        start = await asyncio.wait_for(self._messages.get(), 5)
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start["headers"]}
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._gone.set()
        await asyncio.wait_for(self._task, 5)

    async def _receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self._messages.put(message)

    async def frame(self) -> dict[str, str]:
        """The next SSE frame as field → value (a comment under ``":"``)."""
        while "\r\n\r\n" not in self._text:
            message = await asyncio.wait_for(self._messages.get(), 5)
            self._text += message.get("body", b"").decode()
            if not message.get("more_body", False) and "\r\n\r\n" not in self._text:
                return {}
        raw, self._text = self._text.split("\r\n\r\n", 1)
        fields: dict[str, str] = {}
        for line in raw.split("\r\n"):
            if line.startswith(":"):
                fields[":"] = line[1:].strip()
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        return fields

    async def event(self) -> dict[str, str]:
        """The next frame that is not a comment."""
        while ":" in (found := await self.frame()) and len(found) == 1:
            continue
        return found


@pytest.fixture
async def app(client: AsyncTestClient[Any]) -> Litestar:
    return client.app  # the client's lifespan is running


def stream(app: Litestar, headers: dict[str, str], last: str | None = None) -> SseCall:
    if last is not None:
        headers = {**headers, "Last-Event-ID": last}
    return SseCall(app, "/api/events/stream", headers)


async def publish(c: Any, user_id: uuid.UUID, n: int) -> UserEvent:
    sent = user_event("notification.created", {"n": n}, c.clock.now())
    await c.bus.publish_user(user_id, sent)
    return sent


async def test_the_stream_carries_the_callers_events_only(
    app: Litestar, sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    me, other = accounts[Role.USER], accounts[Role.EXPERT]
    async with stream(app, auth(Role.USER)) as call:
        assert call.status == 200
        assert call.headers["content-type"].startswith("text/event-stream")
        assert (await call.frame()) == {":": "connected"}
        await publish(sqlite_container, other.id, 0)
        sent = await publish(sqlite_container, me.id, 1)
        frame = await call.event()
        assert frame["id"] == sent.id
        assert frame["event"] == "notification.created"
        assert msgspec.json.decode(frame["data"], type=UserEvent) == sent


async def test_an_idle_stream_sends_keep_alive_comments(app: Litestar, auth: Auth) -> None:
    async with stream(app, auth(Role.USER)) as call:
        assert await call.frame() == {":": "connected"}
        assert await call.frame() == {":": "keep-alive"}


async def test_last_event_id_replays_what_was_missed(
    app: Litestar, sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    me = accounts[Role.USER]
    async with stream(app, auth(Role.USER)) as call:
        await call.frame()
        first = await publish(sqlite_container, me.id, 1)
        assert (await call.event())["id"] == first.id
    missed = [await publish(sqlite_container, me.id, n) for n in (2, 3)]
    async with stream(app, auth(Role.USER), last=first.id) as call:
        await call.frame()
        assert [(await call.event())["id"] for _ in missed] == [e.id for e in missed]


async def test_an_unknown_last_event_id_gets_what_is_kept_then_reset(
    app: Litestar, sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    me = accounts[Role.USER]
    async with stream(app, auth(Role.USER)) as call:
        await call.frame()
        kept = await publish(sqlite_container, me.id, 1)
        await call.event()
        async with stream(app, auth(Role.USER), last=str(uuid.uuid4())) as late:
            await late.frame()
            assert (await late.event())["id"] == kept.id
            reset = await late.event()
            assert reset["event"] == "reset" and "id" not in reset


async def test_one_bus_subscription_per_user_and_none_after_the_last_stream(
    app: Litestar, sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    streams = sqlite_container.platform.streams
    me = accounts[Role.USER]
    async with stream(app, auth(Role.USER)) as one, stream(app, auth(Role.USER)) as two:
        await one.frame()
        await two.frame()
        assert streams.subscribed() == {me.id}
        subscriptions = [p for p, _ in sqlite_container.bus._subscriptions if "rt.user" in p]
        assert subscriptions == [f"mas.rt.user.{me.id}"]
    await streams.close()  # the linger ends at shutdown
    assert streams.subscribed() == frozenset()


async def test_a_ticket_is_issued_for_the_caller(
    client: AsyncTestClient[Any], sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    response = await client.post(
        "/api/realtime/tickets",
        json={"purpose": "meeting", "resource_id": "slot-1"},
        headers=auth(Role.USER),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=55) < expires - sqlite_container.clock.now() <= timedelta(seconds=60)
    tickets = sqlite_container.platform.tickets
    assert await tickets.redeem(body["ticket"], "meeting", "slot-1") == accounts[Role.USER].id
    with pytest.raises(InvalidTicket):
        await tickets.redeem(body["ticket"], "meeting", "slot-1")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "Meeting!", "resource_id": "x"}, "purpose"),
        ({"purpose": "meeting", "resource_id": ""}, "resource_id"),
        ({"purpose": "meeting", "resource_id": "a b"}, "resource_id"),
        ({"purpose": "meeting", "resource_id": "x" * 129}, "resource_id"),
        ({"purpose": "meeting"}, "resource_id"),
    ],
)
async def test_a_bad_ticket_request_is_422_naming_the_field(
    client: AsyncTestClient[Any], auth: Auth, body: dict[str, str], field: str
) -> None:
    response = await client.post("/api/realtime/tickets", json=body, headers=auth(Role.USER))
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_tickets_are_rate_limited_per_user(client: AsyncTestClient[Any], auth: Auth) -> None:
    body = {"purpose": "meeting", "resource_id": "slot-1"}
    statuses = [
        (await client.post("/api/realtime/tickets", json=body, headers=auth(Role.USER))).status_code
        for _ in range(TICKETS_PER_MINUTE + 1)
    ]
    assert statuses == [201] * TICKETS_PER_MINUTE + [429]
    other = await client.post("/api/realtime/tickets", json=body, headers=auth(Role.EXPERT))
    assert other.status_code == 201


async def test_a_long_last_event_id_is_422(app: Litestar, auth: Auth) -> None:
    async with stream(app, auth(Role.USER), last="x" * 65) as call:
        assert call.status == 422


async def test_a_bus_that_cannot_subscribe_is_503_before_the_stream_starts(
    app: Litestar, sqlite_container: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(pattern: str, handler: Any) -> Any:
        raise ExternalUnavailable("event bus (NATS) is unavailable: test")

    monkeypatch.setattr(sqlite_container.bus, "subscribe", unreachable)
    async with stream(app, auth(Role.USER)) as call:
        assert call.status == 503
        assert call.headers["content-type"].startswith("application/problem+json")


async def test_anonymous_gets_neither_stream_nor_ticket(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/api/events/stream")).status_code == 401
    response = await client.post(
        "/api/realtime/tickets", json={"purpose": "meeting", "resource_id": "x"}
    )
    assert response.status_code == 401


async def test_a_user_holds_a_bounded_number_of_streams_per_process(
    app: Litestar, sqlite_container: Any, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_container.platform.streams, "max_per_user", 2)
    headers = auth(Role.USER)
    async with stream(app, headers) as one, stream(app, headers) as two:
        await one.frame()
        await two.frame()
        async with stream(app, headers) as third:
            assert third.status == 429
            assert (await third.frame()) == {}  # the problem body, not a stream
        async with stream(app, auth(Role.EXPERT)) as other_user:
            assert other_user.status == 200
    async with stream(app, headers) as again:  # a closed stream frees its place
        assert again.status == 200
