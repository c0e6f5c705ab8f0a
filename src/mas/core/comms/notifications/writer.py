"""The notifications part's side of the messenger (``Messenger.notify``)."""

from __future__ import annotations

from typing import Any


class NotificationWriter:
    async def notify(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the notifications writer is being built (issue 9)")
