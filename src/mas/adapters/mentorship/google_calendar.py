"""Google Calendar over httpx (Calendar API v3), for ``CalendarPort``.

Wire format (developers.google.com/calendar/api/v3/reference):

- Access tokens come from the owner's refresh token: ``POST https://oauth2.googleapis.com/token``
  form-encoded ``grant_type=refresh_token``, ``refresh_token``, ``client_id``,
  ``client_secret`` → ``{"access_token", "expires_in", ...}``; a revoked grant answers 400
  ``{"error": "invalid_grant"}``. Tokens are kept in memory until a minute before they expire;
  a 401 from the API drops the token and the call is tried once more with a fresh one.
- ``POST /calendar/v3/calendars/{calendarId}/events?sendUpdates=all`` with the event
  (``id``, ``summary``, ``start``/``end`` ``{"dateTime"}``, ``attendees: [{"email"}]``).
  The ``id`` is chosen by us from the idempotency key (``event_id_for``: base32hex, which
  Google accepts for client ids), so a retried create answers 409 ``duplicate`` instead of
  making a second event; the adapter then reads the event and answers its id, restoring it
  (``PUT`` with ``status: confirmed``) when it had been deleted, since Google keeps a deleted
  event's id as a ``cancelled`` event.
- ``DELETE .../events/{eventId}?sendUpdates=all`` → 204; 404 and 410 (already deleted) are
  success.
- Errors: ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``.
  429, 5xx, 403 ``rateLimitExceeded``/``userRateLimitExceeded`` and transport failures raise
  ``CalendarUnavailable`` (transient: the sync job retries); any other refusal raises
  ``CalendarRejected`` with Google's reason and message. Without a client id and secret every
  call is ``NotConfigured`` (503).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mas.core.mentorship.ports.calendar import (
    CalendarOwner,
    CalendarRejected,
    CalendarUnavailable,
    event_id_for,
)
from mas.core.platform.errors import NotConfigured, ValidationFailed

if TYPE_CHECKING:
    import httpx

API_BASE = "https://www.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"
_EARLY_S = 60
"""A token is refreshed this long before Google says it expires."""
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


class GoogleCalendar:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient | None = None,
        api_base: str = API_BASE,
        token_url: str = TOKEN_URL,
        send_updates: str = "all",
        timeout_s: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._client_id = client_id.strip()
        self._client_secret = client_secret.strip()
        self._http = http
        self._owns_http = http is None
        self._api = api_base.rstrip("/") + "/calendar/v3"
        self._token_url = token_url
        self._send_updates = send_updates
        self._timeout_s = timeout_s
        self._now = now
        self._tokens: dict[str, tuple[str, float]] = {}
        """sha256(refresh token) → (access token, expiry as a Unix time)."""

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- the port -----------------------------------------------------------------------------

    async def create_event(
        self,
        owner: CalendarOwner,
        title: str,
        start: datetime,
        end: datetime,
        attendees: list[str],
        idempotency_key: str,
    ) -> str:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValidationFailed("calendar times must carry a time zone")
        if end <= start:
            raise ValidationFailed("a calendar event must end after it starts")
        if not idempotency_key:
            raise ValidationFailed("a calendar event needs an idempotency key")
        event_id = event_id_for(idempotency_key)
        event = {
            "id": event_id,
            "summary": title,
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": end.isoformat()},
            "attendees": [{"email": email} for email in attendees],
            "status": "confirmed",
        }
        answer = await self._api_call(owner, "POST", self._events(owner), json=event)
        if answer.status_code == 409:
            return await self._existing(owner, event_id, event)
        _raise_for(answer, "create the event")
        return str(answer.json()["id"])

    async def delete_event(self, owner: CalendarOwner, event_id: str) -> None:
        if not event_id:
            raise ValidationFailed("no event id to delete")
        url = f"{self._events(owner)}/{quote(event_id, safe='')}"
        answer = await self._api_call(owner, "DELETE", url)
        if answer.status_code in (404, 410):
            return  # already gone: what the caller wanted
        _raise_for(answer, "delete the event")

    # --- helpers ------------------------------------------------------------------------------

    async def _existing(self, owner: CalendarOwner, event_id: str, event: dict[str, Any]) -> str:
        """The event a previous create with the same key made (restored if deleted since)."""
        url = f"{self._events(owner)}/{event_id}"
        found = await self._api_call(owner, "GET", url)
        _raise_for(found, "read the existing event")
        if found.json().get("status") == "cancelled":
            restored = await self._api_call(owner, "PUT", url, json=event)
            _raise_for(restored, "restore the cancelled event")
        return event_id

    def _events(self, owner: CalendarOwner) -> str:
        return f"{self._api}/calendars/{quote(owner.calendar_id, safe='')}/events"

    def _client(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    async def _api_call(
        self, owner: CalendarOwner, method: str, url: str, json: Any = None
    ) -> httpx.Response:
        """One API request; a 401 refreshes the access token and tries once more."""
        import httpx

        for attempt in (1, 2):
            token = await self._access_token(owner, fresh=attempt == 2)
            try:
                answer = await self._client().request(
                    method,
                    url,
                    params={"sendUpdates": self._send_updates} if method != "GET" else None,
                    json=json,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=self._timeout_s,
                )
            except httpx.HTTPError as exc:
                raise CalendarUnavailable(
                    f"Google Calendar is unreachable: {type(exc).__name__}"
                ) from exc
            if answer.status_code != 401 or attempt == 2:
                return answer
            self._tokens.pop(_fingerprint(owner.refresh_token), None)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _access_token(self, owner: CalendarOwner, *, fresh: bool) -> str:
        import httpx

        if not (self._client_id and self._client_secret):
            raise NotConfigured("Google Calendar (MAS_GOOGLE_CLIENT_ID / client secret)")
        if not owner.refresh_token:
            raise CalendarRejected("the calendar owner has not connected Google Calendar")
        now = self._now()
        if not fresh:
            expires = owner.access_expires_at
            if owner.access_token and expires and expires.timestamp() - _EARLY_S > now:
                return owner.access_token
            cached = self._tokens.get(_fingerprint(owner.refresh_token))
            if cached and cached[1] - _EARLY_S > now:
                return cached[0]
        form = {
            "grant_type": "refresh_token",
            "refresh_token": owner.refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        try:
            answer = await self._client().post(self._token_url, data=form, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise CalendarUnavailable(
                f"Google's token endpoint is unreachable: {type(exc).__name__}"
            ) from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            raise CalendarUnavailable(f"Google's token endpoint answered {answer.status_code}")
        body = _json(answer)
        if answer.status_code != 200 or "access_token" not in body:
            error = body.get("error", answer.status_code)
            detail = body.get("error_description", "")
            raise CalendarRejected(f"Google refused the refresh token: {error} {detail}".strip())
        token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 3600))
        self._tokens[_fingerprint(owner.refresh_token)] = (token, now + lifetime)
        return token


def _fingerprint(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _raise_for(answer: httpx.Response, doing: str) -> None:
    if answer.is_success:
        return
    error = _json(answer).get("error")
    error = error if isinstance(error, dict) else {}
    reasons = [str(item.get("reason", "")) for item in error.get("errors", []) or []]
    reason = next((r for r in reasons if r), "")
    message = str(error.get("message", "")) or answer.reason_phrase
    status = answer.status_code
    text = f"Google Calendar could not {doing}: {status} {reason} {message}".replace("  ", " ")
    if status == 429 or status >= 500 or (status == 403 and reason in _RATE_REASONS):
        raise CalendarUnavailable(text)
    raise CalendarRejected(text)
