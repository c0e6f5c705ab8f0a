"""Random tokens, one-time codes and digests (standard library only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


class StdSecrets:
    def __init__(self, server_key: str) -> None:
        self._key = server_key.encode()

    def random_token(self, nbytes: int) -> str:
        return secrets.token_urlsafe(nbytes)

    def otp_code(self) -> str:
        return f"{secrets.randbelow(1_000_000):06d}"

    def digest(self, value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    def keyed_digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def successor_token(self, refresh_token: str) -> str:
        # 32 bytes, url-safe, unpadded: the same shape as a token from random_token(32).
        mac = hmac.new(self._key, b"refresh-successor:" + refresh_token.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
