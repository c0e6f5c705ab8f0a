"""Check 14 with a stand-in room: a WebSocket opened with a realtime ticket.

The meeting rooms come later (mentorship); this test registers its own route, shaped as
``WS /ws/meetings/{slot_id}?ticket=…`` will be: redeem the ticket for this slot, then admit
participants only (4403 for anyone else, 4401 for a bad ticket), presence in the room store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery
from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Role
from mas.core.platform.tickets import InvalidTicket
from mas.http.app import create_app
from mas.http.auth import resolve_caller
from tests.http.conftest import Auth

PARTICIPANTS: dict[str, set[uuid.UUID]] = {}


@websocket("/ws/test-rooms/{slot_id:str}", opt={"public": True})
async def stand_in_room(
    socket: WebSocket[Any, Any, Any], slot_id: FromPath[str], ticket: FromQuery[str]
) -> None:
    platform = socket.app.state.container.platform
    await socket.accept()
    try:
        user_id = await platform.tickets.redeem(ticket, "meeting", slot_id)
    except InvalidTicket:
        await socket.close(code=4401, reason="invalid ticket")
        return
    if user_id not in PARTICIPANTS.get(slot_id, set()):
        await socket.close(code=4403, reason="not a participant")
        return
    members = await platform.rooms.join(slot_id, user_id)
    await socket.send_json({"type": "presence", "members": sorted(map(str, members))})
    await socket.receive_text()
    await platform.rooms.leave(slot_id, user_id)


@websocket("/ws/test-whoami", opt={"policy": "authenticated"})
async def whoami(socket: WebSocket[Any, Any, Any]) -> None:
    """A socket authenticated by the guard (a cookie on the handshake), as a browser opens it."""
    await socket.accept()
    caller = await resolve_caller(socket)
    await socket.send_json({"user_id": str(caller.user_id)})
    await socket.close()


@pytest.fixture
async def room_client(sqlite_container: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(container=sqlite_container)
    app.register(stand_in_room)  # registered by the test, not the app
    app.register(whoami)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def ticket_for(client: AsyncTestClient[Any], headers: dict[str, str], slot: str) -> str:
    response = await client.post(
        "/api/realtime/tickets", json={"purpose": "meeting", "resource_id": slot}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["ticket"])


async def close_code(client: AsyncTestClient[Any], slot: str, ticket: str) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        with await client.websocket_connect(
            f"/ws/test-rooms/{slot}", params={"ticket": ticket}
        ) as socket:
            socket.receive_json()
    return closed.value.code


async def test_a_participant_joins_and_an_outsider_is_closed_4403(
    room_client: AsyncTestClient[Any], sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    slot = f"slot-{uuid.uuid4().hex[:8]}"
    student, mentor = accounts[Role.USER], accounts[Role.EXPERT]
    PARTICIPANTS[slot] = {student.id, mentor.id}
    ticket = await ticket_for(room_client, auth(Role.USER), slot)
    with await room_client.websocket_connect(
        f"/ws/test-rooms/{slot}", params={"ticket": ticket}
    ) as socket:
        assert socket.receive_json() == {"type": "presence", "members": [str(student.id)]}
        assert await sqlite_container.platform.rooms.present(slot) == {student.id}
        socket.send_text("bye")
    outsider = await ticket_for(room_client, auth(Role.SALES), slot)
    assert await close_code(room_client, slot, outsider) == 4403


async def test_a_used_or_misdirected_ticket_is_closed_4401(
    room_client: AsyncTestClient[Any], accounts: Any, auth: Auth
) -> None:
    slot, other = f"slot-{uuid.uuid4().hex[:8]}", f"slot-{uuid.uuid4().hex[:8]}"
    PARTICIPANTS[slot] = {accounts[Role.USER].id}
    PARTICIPANTS[other] = {accounts[Role.USER].id}
    ticket = await ticket_for(room_client, auth(Role.USER), slot)
    assert await close_code(room_client, other, ticket) == 4401
    assert await close_code(room_client, slot, ticket) == 4401  # used up by the wrong room
    assert await close_code(room_client, slot, "forged") == 4401


async def test_a_cookie_handshake_from_another_site_is_refused(
    room_client: AsyncTestClient[Any], sqlite_container: Any, accounts: Any, auth: Auth
) -> None:
    """Cross-site WebSocket hijacking: the browser attaches the cookie to any site's handshake
    and CORS does not apply, so the origin is checked whenever a cookie authenticates."""
    token = auth(Role.USER)["Authorization"].removeprefix("Bearer ")
    own = sqlite_container.settings.public_base_url.rstrip("/")

    def connect(origin: str | None) -> Any:
        headers = {"cookie": f"token={token}"}
        if origin is not None:
            headers["origin"] = origin
        return room_client.websocket_connect("/ws/test-whoami", headers=headers)

    with await connect(own) as socket:
        assert socket.receive_json() == {"user_id": str(accounts[Role.USER].id)}
    with await connect(None) as socket:  # not a browser: no cookie of someone else's
        assert socket.receive_json() == {"user_id": str(accounts[Role.USER].id)}
    with pytest.raises(WebSocketDisconnect) as refused:
        with await connect("https://evil.example") as socket:
            socket.receive_json()
    assert refused.value.code == 4403
