"""Domain events: facts a use case records; they are relayed on the bus after commit.

A domain subscribes by type with a ``Subscription``: the platform decodes the payload into the
event's Struct before the handler sees it, so no handler parses a dict.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import msgspec


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Subclasses set ``subject`` to ``mas.<domain>.<event>``."""

    subject: ClassVar[str] = "mas.unknown.event"

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


E = TypeVar("E", bound=DomainEvent)
S = TypeVar("S")


@dataclass(frozen=True)
class Subscription(Generic[S, E]):
    """``handle(services, event)`` runs for every ``event`` type published (at least once)."""

    event: type[E]
    handle: Callable[[S, E], Awaitable[None]]

    def decode(self, payload: dict[str, Any]) -> E:
        return msgspec.convert(payload, type=self.event, strict=False)


def lift_subscriptions(
    part: str, subscriptions: Sequence[Subscription[Any, Any]]
) -> list[Subscription[Any, Any]]:
    """As ``tasking.lift_handlers``: a part's subscriptions, bound to the domain's services."""

    def pick(handle: Callable[[Any, Any], Awaitable[None]]) -> Callable[[Any, Any], Any]:
        async def picked(services: Any, event: Any) -> None:
            await handle(getattr(services, part), event)

        return picked

    return [Subscription(s.event, pick(s.handle)) for s in subscriptions]
