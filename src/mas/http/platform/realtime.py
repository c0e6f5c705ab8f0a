"""Realtime over HTTP: the caller's event stream (SSE) and WebSocket tickets.

The stream is plain Server-Sent Events: every event has an ``id``, its ``type`` as the SSE
``event`` name and the whole ``UserEvent`` as JSON ``data``. A client reconnecting with
``Last-Event-ID`` first gets what this process kept for it since that id (or everything kept
and then a ``reset`` when the id is not kept here: refetch, do not trust the gap). An idle
stream sends a comment every ``MAS_SSE_KEEPALIVE_S`` seconds so proxies keep it open.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.params import HeaderParameter, JSONBody
from litestar.response import ServerSentEvent, ServerSentEventMessage

from mas.core.platform.tickets import Purpose, ResourceId, Ticket
from mas.core.platform.user_streams import StreamDropped, UserStream
from mas.http.params import CallerDep
from mas.http.platform import Platform, PlatformController

LastEventId = Annotated[
    str | None,
    HeaderParameter(
        name="Last-Event-ID",
        max_length=64,
        required=False,
        description="the id of the last event received (replays what was missed)",
    ),
]


class TicketRequest(msgspec.Struct, forbid_unknown_fields=True):
    purpose: Purpose
    """What the socket is for: ``meeting`` (``resource_id`` = the slot id), …"""
    resource_id: ResourceId


class TicketView(msgspec.Struct):
    ticket: str
    expires_at: datetime


class RealtimeController(PlatformController):
    tags = ["realtime"]
    opt = {"policy": "authenticated"}

    @get(
        "/api/events/stream",
        operation_id="streamEvents",
        summary="The caller's live events (Server-Sent Events, Last-Event-ID replay)",
        media_type="text/event-stream",
        opt={"problems": (429,)},  # too_many_streams: more open streams than a user needs
    )
    async def stream(
        self, platform: Platform, caller: CallerDep, last_event_id: LastEventId = None
    ) -> ServerSentEvent:
        streams = platform.streams
        await streams.prepare(caller.user_id)
        return ServerSentEvent(
            _frames(
                streams.open(caller.user_id, last_event_id),
                streams.keepalive_s,
                streams.max_lifetime_s,
            )
        )

    @post(
        "/api/realtime/tickets",
        operation_id="issueRealtimeTicket",
        summary="A single-use, 60-second ticket to open one WebSocket for a purpose and resource",
        status_code=201,
    )
    async def issue_ticket(
        self, platform: Platform, caller: CallerDep, data: JSONBody[TicketRequest]
    ) -> TicketView:
        issued: Ticket = await platform.tickets.issue(
            caller.user_id, data.purpose, data.resource_id
        )
        return TicketView(issued.ticket, issued.expires_at)


async def _frames(
    opening: AbstractAsyncContextManager[UserStream], keepalive_s: float, lifetime_s: float
) -> AsyncIterator[ServerSentEventMessage]:
    # ``opening`` is the hub's context manager; entered here so the user's subscription lives
    # exactly as long as the response body (a disconnect cancels this generator).
    ends_at = time.monotonic() + lifetime_s
    async with opening as stream:
        # Subscribed from here on: a client may rely on events published after this line.
        yield ServerSentEventMessage(data=None, comment="connected")
        while (left := ends_at - time.monotonic()) > 0:
            try:
                event = await stream.next(min(keepalive_s, left))
            except StreamDropped:
                return
            if event is None:
                if time.monotonic() >= ends_at:
                    return
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                continue
            yield ServerSentEventMessage(
                data=msgspec.json.encode(event).decode(),
                event=event.type,
                id=event.id or None,  # no id on a reset: the client keeps its last real one
            )
