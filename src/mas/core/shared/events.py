"""Domain events: facts a use case records; they are relayed on the bus after commit."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Subclasses set ``subject`` to ``mas.<domain>.<event>``."""

    subject: ClassVar[str] = "mas.unknown.event"

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data
