"""The whatsapp part's side of the messenger (``Messenger.whatsapp``)."""

from __future__ import annotations

from typing import Any


class WhatsAppMessageWriter:
    async def whatsapp(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the whatsapp writer is being built (issue 9)")
