"""Phone numbers to E.164. Behind it sits the ``phonenumbers`` library (an adapter)."""

from __future__ import annotations

from typing import Protocol


class PhoneNormalizer(Protocol):
    def to_e164(self, raw: str, default_region: str = "IN") -> str | None:
        """``+919876543210`` for any sane spelling of a valid number; None when it is not one."""
        ...
