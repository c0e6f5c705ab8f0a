"""The mail part's side of the messenger (``Messenger.email``)."""

from __future__ import annotations

from typing import Any


class MailWriter:
    async def email(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the mail writer is being built (issue 9)")
