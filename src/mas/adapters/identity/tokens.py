"""The access token: an HS256 JWT carrying ``AccessTokenClaims`` (identity spec §5).

A client sends the same access token with every request for its 15 minutes, so the codec keeps
the claims of the tokens it has verified (a bounded LRU keyed by the whole token, signature
included): a repeat costs a dictionary look-up and an expiry check instead of a signature check
and three JSON parses. Only verified tokens are kept; revocation is the caller's business (the
token version against the cached user), exactly as for a freshly decoded token.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import msgspec

from mas.core.identity.ports import AccessTokenClaims
from mas.core.platform.errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED = ["iss", "sub", "role", "plt", "tv", "jti", "iat", "exp"]


class JwtCodec:
    def __init__(
        self, secret: str, issuer: str = "mas", *, leeway_s: float = 5.0, remember: int = 10_000
    ) -> None:
        """``leeway_s`` absorbs clock skew between the nodes that issue and check tokens;
        ``remember`` bounds the verified-token cache (0 turns it off)."""
        if not secret:
            raise ValueError("JwtCodec needs a non-empty secret")
        self._secret = secret
        self._issuer = issuer
        self._leeway_s = leeway_s
        self._remember = remember
        self._verified: OrderedDict[str, tuple[AccessTokenClaims, float]] = OrderedDict()

    def encode(self, claims: AccessTokenClaims) -> str:
        payload: dict[str, Any] = {
            key: value for key, value in msgspec.to_builtins(claims).items() if value is not None
        }
        payload["iss"] = self._issuer
        import jwt  # ~30 ms with its crypto backends: loaded by the first token, not at start-up

        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessTokenClaims:
        known = self._verified.get(token)
        if known is not None:
            claims, expires = known
            if time.time() <= expires + self._leeway_s:
                self._verified.move_to_end(token)
                return claims
            del self._verified[token]
            raise Unauthorized("the access token has expired", code="token_expired")
        claims = self._verify(token)
        if self._remember:
            self._verified[token] = (claims, float(claims.exp))
            if len(self._verified) > self._remember:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> AccessTokenClaims:
        import jwt

        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired", code="token_expired") from None
        except jwt.InvalidTokenError:
            raise invalid_token() from None
        payload.pop("iss", None)
        payload.setdefault("sid", None)  # omitted from the token when there is no session
        try:
            return msgspec.convert(payload, AccessTokenClaims)
        except msgspec.ValidationError:
            raise invalid_token() from None


def invalid_token() -> Unauthorized:
    return Unauthorized("the access token is not valid", code="invalid_token")
