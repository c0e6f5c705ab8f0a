"""The local mailbox: the outbox row is the mail, nothing leaves the machine.

It still refuses an envelope no real transport could deliver, so a bad address fails in
development the way it will fail in production.
"""

from __future__ import annotations

import re

from mas.core.platform.ports.mail import Envelope, TransportError

_ADDRESS = re.compile(r"[^\s<>@,;\"]+@[^\s<>@,;\"]+")
_NAMED = re.compile(r"[^<>\r\n\x00]*<(?P<address>[^<>]*)>")


def parse_address(text: str) -> str | None:
    """The bare address in ``text`` (``Asha <asha@x.in>`` gives ``asha@x.in``), or None."""
    # A line break would let the value inject headers; refuse it outright.
    if any(ch in "\r\n\x00" for ch in text):
        return None
    text = text.strip()
    named = _NAMED.fullmatch(text)
    address = named["address"] if named else text
    return address if _ADDRESS.fullmatch(address) else None


def recipient_address(envelope: Envelope) -> str:
    """The recipient's bare address; a permanent ``TransportError`` when there is none."""
    address = parse_address(envelope.recipient)
    if address is None:
        raise TransportError(
            f"recipient {envelope.recipient!r} is not an email address", permanent=True
        )
    return address


class LocalMailbox:
    name = "local"

    @property
    def configured(self) -> bool:
        return True

    async def deliver(self, envelope: Envelope) -> None:
        recipient_address(envelope)
