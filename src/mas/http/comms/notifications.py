"""In-app notifications over HTTP: one's own feed (``/api/notifications``, any signed-in user;
preferences: students) and an admin's broadcasts (``/api/admin/notifications/broadcasts``).

A broadcast is created as a DRAFT, or SCHEDULED when ``scheduled_at`` is given, or sent at once
with ``send_now: true``; a DRAFT is sent with ``POST …/{id}/send``. BATCH and COURSE audiences
need the LMS and are refused (422 ``audience_unavailable``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.comms.notifications.model import (
    CURSOR_PATTERN,
    Broadcast,
    NewBroadcast,
    Notification,
    NotificationPage,
    Preferences,
    PreferenceUpdate,
    ReadAll,
    UnreadCount,
)
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="items per page (max 100)")]
Cursor = Annotated[
    str | None,
    QueryParameter(
        max_length=49,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page",
        # present means a string: Litestar would document "string or null"
        schema_extra={"one_of": None, "type": "string"},
    ),
]
UnreadOnly = Annotated[bool, QueryParameter(description="only unread notifications")]

BROADCAST_RULES = {
    "audience_unavailable": "BATCH and COURSE audiences need the LMS (not available yet)",
    "audience_ref_invalid": "ROLE takes a role name in audience_ref; other audiences take none",
    "empty_audience": "the audience has at least one active user",
    "schedule_conflict": "scheduled_at and send_now are not given together",
    "scheduled_at_out_of_range": "scheduled_at is in the future, within a year",
}


class NotificationController(CommsController):
    path = "/api/notifications"
    tags = ["comms: notifications"]
    opt = {"policy": "authenticated"}

    @get("/", operation_id="listNotifications", summary="My notifications, newest first")
    async def feed(
        self,
        comms: Comms,
        caller: CallerDep,
        unread: UnreadOnly = False,
        cursor: Cursor = None,
        limit: Limit = 20,
    ) -> NotificationPage:
        return await comms.notifications.feed.page(caller, unread, cursor, limit)

    @get(
        "/unread-count",
        operation_id="unreadNotificationCount",
        summary="How many of my notifications are unread",
    )
    async def unread_count(self, comms: Comms, caller: CallerDep) -> UnreadCount:
        return await comms.notifications.feed.unread_count(caller)

    @post(
        "/{notification_id:uuid}/read",
        operation_id="readNotification",
        summary="Mark one of my notifications read",
        status_code=200,
    )
    async def read(
        self, comms: Comms, caller: CallerDep, notification_id: FromPath[uuid.UUID]
    ) -> Notification:
        return await comms.notifications.feed.mark_read(caller, notification_id)

    @post(
        "/read-all",
        operation_id="readAllNotifications",
        summary="Mark all my notifications read (how many changed)",
        status_code=200,
    )
    async def read_all(self, comms: Comms, caller: CallerDep) -> ReadAll:
        return await comms.notifications.feed.read_all(caller)

    @get(
        "/preferences",
        operation_id="notificationPreferences",
        summary="My notification toggles, per channel and category",
        opt={"policy": "student"},
    )
    async def preferences(self, comms: Comms, caller: CallerDep) -> Preferences:
        return await comms.notifications.feed.preferences(caller)

    @put(
        "/preferences",
        operation_id="setNotificationPreferences",
        summary="Turn notification toggles on or off",
        opt={
            "policy": "student",
            "rules": {"category_locked": "SYSTEM and PAYMENT email cannot be turned off"},
        },
    )
    async def set_preferences(
        self, comms: Comms, caller: CallerDep, data: JSONBody[PreferenceUpdate]
    ) -> Preferences:
        return await comms.notifications.feed.set_preferences(caller, data)


class BroadcastController(CommsController):
    path = "/api/admin/notifications/broadcasts"
    tags = ["comms: notifications"]
    opt = {"policy": "admin"}

    @post(
        "/",
        operation_id="createBroadcast",
        summary="Create a broadcast (DRAFT, SCHEDULED at scheduled_at, or sent now)",
        opt={"rules": BROADCAST_RULES},
    )
    async def create(
        self, comms: Comms, caller: CallerDep, data: JSONBody[NewBroadcast]
    ) -> Broadcast:
        return await comms.notifications.broadcasts.create(caller, data)

    @get("/", operation_id="listBroadcasts", summary="Broadcasts with their counts, newest first")
    async def list_broadcasts(
        self, comms: Comms, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Broadcast]:
        return await comms.notifications.broadcasts.page(PageRequest(page, page_size))

    @post(
        "/{broadcast_id:uuid}/send",
        operation_id="sendBroadcast",
        summary="Send a DRAFT broadcast now",
        status_code=200,
        opt={
            "rules": {
                "broadcast_not_draft": "only a DRAFT is sent this way",
                "empty_audience": "the audience has at least one active user",
            },
            "rules_status": {"broadcast_not_draft": 409, "empty_audience": 422},
        },
    )
    async def send(self, comms: Comms, broadcast_id: FromPath[uuid.UUID]) -> Broadcast:
        return await comms.notifications.broadcasts.send(broadcast_id)

    @post(
        "/{broadcast_id:uuid}/cancel",
        operation_id="cancelBroadcast",
        summary="Cancel a DRAFT or SCHEDULED broadcast",
        status_code=200,
        opt={
            "rules": {"broadcast_not_cancellable": "a SENDING or SENT broadcast is not cancelled"},
            "rules_status": 409,
        },
    )
    async def cancel(self, comms: Comms, broadcast_id: FromPath[uuid.UUID]) -> Broadcast:
        return await comms.notifications.broadcasts.cancel(broadcast_id)
