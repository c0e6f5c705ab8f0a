"""RFC 6238 TOTP (SHA-1, 6 digits, 30-s step) for the master login."""

from __future__ import annotations

import binascii
import hmac
from datetime import datetime

import pyotp

STEP_S = 30
DIGITS = 6
WINDOW = (-1, 0, 1)


class PyOtpVerifier:
    def __init__(self, secret_b32: str) -> None:
        self._totp = pyotp.TOTP(secret_b32, digits=DIGITS, interval=STEP_S)
        try:
            self._totp.byte_secret()
        except (binascii.Error, ValueError) as exc:
            # pyotp also refuses secrets under 112 bits; authenticator apps use 160.
            raise ValueError(f"the TOTP secret is not usable: {exc}") from None

    def matching_counter(self, code: str, at: datetime) -> int | None:
        if at.tzinfo is None:
            raise ValueError("matching_counter needs an aware datetime")
        if len(code) != DIGITS or not code.isascii() or not code.isdigit():
            return None
        now = int(at.timestamp()) // STEP_S
        found: int | None = None
        for offset in WINDOW:
            counter = now + offset
            # Every step is compared, so the time taken does not say which one matched.
            if hmac.compare_digest(self._totp.generate_otp(counter).encode(), code.encode()):
                # The highest step wins: the caller stores it as last used, which then also
                # refuses this code when it comes back one step later.
                found = counter
        return found
