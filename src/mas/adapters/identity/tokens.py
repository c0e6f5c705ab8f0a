"""The access token: an HS256 JWT carrying ``AccessTokenClaims`` (identity spec §5)."""

from __future__ import annotations

from typing import Any

import jwt
import msgspec

from mas.core.ports.identity import AccessTokenClaims
from mas.core.shared.errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED = ["iss", "sub", "role", "plt", "tv", "jti", "iat", "exp"]


class JwtCodec:
    def __init__(self, secret: str, issuer: str = "mas", *, leeway_s: float = 5.0) -> None:
        """``leeway_s`` absorbs clock skew between the nodes that issue and check tokens."""
        if not secret:
            raise ValueError("JwtCodec needs a non-empty secret")
        self._secret = secret
        self._issuer = issuer
        self._leeway_s = leeway_s

    def encode(self, claims: AccessTokenClaims) -> str:
        payload: dict[str, Any] = {
            key: value for key, value in msgspec.to_builtins(claims).items() if value is not None
        }
        payload["iss"] = self._issuer
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessTokenClaims:
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
