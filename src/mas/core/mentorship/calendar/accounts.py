"""Connecting a Google calendar (mentorship.md §3): the consent link, the callback that stores
the tokens sealed, the status and the disconnect; and the owner whose calendar carries a
mentor's meetings, its access token refreshed first when it is stale.

A mentor connects their own calendar; an ADMIN connects the platform's account, which carries
the meetings of every mentor who connected none. Without Google's client settings the consent
link is 503 ``integration_not_configured`` (never a link that cannot work).
"""

from __future__ import annotations

import logging
import uuid

import msgspec

from mas.core.mentorship.calendar import state
from mas.core.mentorship.calendar.model import (
    SCOPE,
    STATE_TTL,
    CalendarConnection,
    ConnectLink,
    Credential,
    GoogleGrant,
    SealedCredential,
)
from mas.core.mentorship.calendar.ports import (
    CalendarUnitOfWork,
    GoogleOAuth,
)
from mas.core.mentorship.ports.calendar import CalendarOwner, CalendarRejected
from mas.core.platform.errors import BadRequest, NotConfigured
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.secrets import SecretBox, SecretUnreadable
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.calendar")

GOOGLE_CALENDAR = "Google Calendar (MAS_GOOGLE_CLIENT_ID / MAS_GOOGLE_CLIENT_SECRET)"


class CalendarAccounts:
    def __init__(
        self,
        uow: UnitOfWorkFactory[CalendarUnitOfWork],
        clock: Clock,
        oauth: GoogleOAuth,
        box: SecretBox | None,
        state_secret: bytes,
        redirect_uri: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._oauth = oauth
        self._box = box
        self._secret = state_secret
        self._redirect = redirect_uri

    def _ready(self) -> SecretBox:
        if not self._oauth.configured or self._box is None:
            raise NotConfigured(GOOGLE_CALENDAR)
        return self._box

    def connect_link(self, owner: uuid.UUID | None) -> ConnectLink:
        """Google's consent page for ``owner`` (``None``: the platform's account)."""
        self._ready()
        expires = self._clock.now() + STATE_TTL
        signed = state.sign(self._secret, owner, expires)
        return ConnectLink(url=self._oauth.consent_url(signed, self._redirect), expires_at=expires)

    async def complete(self, code: str, signed_state: str) -> CalendarConnection:
        """The callback: check the state, trade the code, store the tokens sealed."""
        box = self._ready()
        valid, owner = state.verify(self._secret, signed_state, self._clock.now())
        if not valid:
            raise BadRequest(
                "the connection link is invalid or expired; start again", code="bad_oauth_state"
            )
        grant = await self._oauth.exchange_code(code, self._redirect)
        refresh = grant.refresh_token
        if not refresh:
            # Google sends a refresh token with the first consent only; keep the one we hold.
            known = await self.credential(owner)
            if known is None:
                raise CalendarRejected("Google granted no refresh token; connect again")
            refresh = known.refresh_token
        now = self._clock.now()
        access, version = box.seal(grant.access_token.encode())
        sealed_refresh, _ = box.seal(refresh.encode())
        async with self._uow() as uow:
            await uow.google_credentials.put(
                SealedCredential(
                    owner_user_id=owner,
                    access_token=access,
                    refresh_token=sealed_refresh,
                    key_version=version,
                    expires_at=grant.expires_at,
                    scope=grant.scope or SCOPE,
                    connected_at=now,
                    updated_at=now,
                )
            )
            await uow.commit()
        log.info("mentorship.calendar_connected", extra={"owner": str(owner or state.PLATFORM)})
        return CalendarConnection(connected=True, connected_at=now, scope=grant.scope or SCOPE)

    async def status(self, owner: uuid.UUID | None) -> CalendarConnection:
        async with self._uow() as uow:
            stored = await uow.google_credentials.get(owner)
        if stored is None:
            return CalendarConnection(connected=False)
        return CalendarConnection(
            connected=True, connected_at=stored.connected_at, scope=stored.scope
        )

    async def disconnect(self, owner: uuid.UUID | None) -> None:
        """Forget the tokens (events already made stay on the calendar)."""
        async with self._uow() as uow:
            removed = await uow.google_credentials.remove(owner)
            await uow.commit()
        if removed:
            log.info("mentorship.calendar_disconnected", extra={"owner": str(owner)})

    async def credential(self, owner: uuid.UUID | None) -> Credential | None:
        """The owner's credential, opened; None when absent or unreadable (logged)."""
        async with self._uow() as uow:
            stored = await uow.google_credentials.get(owner)
        if stored is None or self._box is None:
            return None
        try:
            return Credential(
                owner_user_id=stored.owner_user_id,
                access_token=self._box.open(stored.access_token, stored.key_version).decode(),
                refresh_token=self._box.open(stored.refresh_token, stored.key_version).decode(),
                expires_at=stored.expires_at,
                scope=stored.scope,
                connected_at=stored.connected_at,
            )
        except (SecretUnreadable, UnicodeDecodeError) as exc:
            # The owner must connect again; until then their meetings go to the platform's.
            log.error(
                "mentorship.calendar_credential_unreadable",
                extra={"owner": str(owner), "error": str(exc)},
            )
            return None

    async def owner_for(self, mentor_id: uuid.UUID) -> CalendarOwner | None:
        """Whose calendar carries the mentor's meetings: theirs, else the platform's, else
        none. A stale access token is refreshed (and stored) before it is handed out."""
        credential = await self.credential(mentor_id) or await self.credential(None)
        return None if credential is None else await self.owner_of(credential)

    async def owner_of(self, credential: Credential) -> CalendarOwner:
        if credential.stale(self._clock.now()):
            credential = await self._refresh(credential)
        return CalendarOwner(
            refresh_token=credential.refresh_token,
            user_id=credential.owner_user_id,
            access_token=credential.access_token,
            access_expires_at=credential.expires_at,
        )

    async def _refresh(self, credential: Credential) -> Credential:
        box = self._ready()
        grant: GoogleGrant = await self._oauth.refresh(credential.refresh_token)
        refresh = grant.refresh_token or credential.refresh_token
        access, version = box.seal(grant.access_token.encode())
        sealed_refresh, _ = box.seal(refresh.encode())
        async with self._uow() as uow:
            stored = await uow.google_credentials.get(credential.owner_user_id)
            if stored is not None:
                await uow.google_credentials.put(
                    msgspec.structs.replace(
                        stored,
                        access_token=access,
                        refresh_token=sealed_refresh,
                        key_version=version,
                        expires_at=grant.expires_at,
                        updated_at=self._clock.now(),
                    )
                )
                await uow.commit()
        return msgspec.structs.replace(
            credential,
            access_token=grant.access_token,
            refresh_token=refresh,
            expires_at=grant.expires_at,
        )
