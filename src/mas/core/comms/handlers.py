"""The domain's tasks, crons and subscriptions: each part's, bound to the domain's services.

A part's handler takes the part's services (``comms.whatsapp``); the manifest hands the runner
the domain's (``CommsServices``), so each is lifted here to pick its part.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any

from mas.core.comms import mail, notifications, telephony, whatsapp
from mas.core.comms.services import CommsServices
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


def _pick(part: str, run: Callable[[Any, Any], Awaitable[None]]) -> Callable[..., Any]:
    @wraps(run)
    async def picked(comms: CommsServices, message: Any) -> None:
        await run(getattr(comms, part), message)

    return picked


def _lift(part: str, handlers: Sequence[Handler[Any, Any]]) -> list[Handler[CommsServices, Any]]:
    return [
        Handler(
            h.task,
            _pick(part, h.run),
            on_dead=_pick(part, h.on_dead) if h.on_dead is not None else None,
        )
        for h in handlers
    ]


def _lift_subscriptions(
    part: str, subscriptions: Sequence[Subscription[Any, Any]]
) -> list[Subscription[CommsServices, Any]]:
    return [Subscription(s.event, _pick(part, s.handle)) for s in subscriptions]


HANDLERS: list[Handler[CommsServices, Any]] = [
    *_lift("mail", mail.HANDLERS),
    *_lift("notifications", notifications.HANDLERS),
    *_lift("whatsapp", whatsapp.HANDLERS),
    *_lift("telephony", telephony.HANDLERS),
]
CRONS: dict[Task[Any], str] = {
    **mail.CRONS,
    **notifications.CRONS,
    **whatsapp.CRONS,
    **telephony.CRONS,
}
SUBSCRIPTIONS: list[Subscription[CommsServices, Any]] = [
    *_lift_subscriptions("mail", mail.SUBSCRIPTIONS),
    *_lift_subscriptions("notifications", notifications.SUBSCRIPTIONS),
    *_lift_subscriptions("whatsapp", whatsapp.SUBSCRIPTIONS),
    *_lift_subscriptions("telephony", telephony.SUBSCRIPTIONS),
]
