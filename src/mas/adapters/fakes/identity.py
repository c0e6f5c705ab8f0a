"""A Google sign-in stand-in: known token strings map to identities, anything else is refused."""

from __future__ import annotations

from mas.core.identity.ports import GoogleIdentity
from mas.core.platform.errors import ExternalUnavailable, Unauthorized


class FakeIdentityProvider:
    def __init__(self) -> None:
        self._identities: dict[str, GoogleIdentity] = {}
        self._failures = 0
        self.calls: list[str] = []

    @property
    def configured(self) -> bool:
        return True

    def add(self, token: str, identity: GoogleIdentity) -> None:
        self._identities[token] = identity

    def fail_next(self, n: int = 1) -> None:
        """The next ``n`` verifications fail as if Google were down."""
        self._failures = n

    async def verify_id_token(self, id_token: str) -> GoogleIdentity:
        self.calls.append(id_token)
        if self._failures > 0:
            self._failures -= 1
            raise ExternalUnavailable("Google sign-in is unreachable", code="idp_unavailable")
        identity = self._identities.get(id_token)
        if identity is None:
            raise Unauthorized("the Google token is not valid", code="invalid_google_token")
        if not identity.email_verified:  # as the real adapter: it never returns such an identity
            raise Unauthorized(
                "the Google account's email address is not verified",
                code="google_email_unverified",
            )
        return identity
