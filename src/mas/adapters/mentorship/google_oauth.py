"""Google's OAuth 2.0 web-server flow over httpx, for ``GoogleOAuth`` (the calendar connection).

Wire format (developers.google.com/identity/protocols/oauth2/web-server):

- Consent: ``https://accounts.google.com/o/oauth2/v2/auth`` with ``client_id``,
  ``redirect_uri``, ``response_type=code``, ``scope``, ``state``, ``access_type=offline`` and
  ``prompt=consent`` (so Google issues a refresh token even to an account that consented before).
- ``POST https://oauth2.googleapis.com/token`` form-encoded: ``grant_type=authorization_code``
  with ``code`` and the same ``redirect_uri``, or ``grant_type=refresh_token`` with
  ``refresh_token``; both with ``client_id`` and ``client_secret`` →
  ``{"access_token", "expires_in", "refresh_token"?, "scope", "token_type"}``.
  A bad or used code, or a revoked refresh token, is 400 ``{"error": "invalid_grant"}``; a
  wrong client 401 ``invalid_client``: ``CalendarRejected``. 429, 5xx and transport failures
  are ``CalendarUnavailable`` (transient).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mas.core.mentorship.calendar.model import SCOPE, GoogleGrant
from mas.core.mentorship.ports.calendar import CalendarRejected, CalendarUnavailable
from mas.core.platform.errors import NotConfigured

if TYPE_CHECKING:
    import httpx

AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class GoogleOAuthClient:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient | None = None,
        auth_url: str = AUTH_URL,
        token_url: str = TOKEN_URL,
        timeout_s: float = 10.0,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client_id = client_id.strip()
        self._client_secret = client_secret.strip()
        self._http = http
        self._owns_http = http is None
        self._auth_url = auth_url
        self._token_url = token_url
        self._timeout_s = timeout_s
        self._now = now

    @property
    def configured(self) -> bool:
        return bool(self._client_id and self._client_secret)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def consent_url(self, state: str, redirect_uri: str) -> str:
        query = {
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": SCOPE,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
        return f"{self._auth_url}?{urlencode(query)}"

    async def exchange_code(self, code: str, redirect_uri: str) -> GoogleGrant:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return await self._grant(form, "the authorization code")

    async def refresh(self, refresh_token: str) -> GoogleGrant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._grant(form, "the refresh token")

    async def _grant(self, form: dict[str, str], what: str) -> GoogleGrant:
        import httpx

        if not self.configured:
            raise NotConfigured("Google Calendar (MAS_GOOGLE_CLIENT_ID / client secret)")
        if self._http is None:
            self._http = httpx.AsyncClient()
        body = {**form, "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            answer = await self._http.post(self._token_url, data=body, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            raise CalendarUnavailable(
                f"Google's token endpoint is unreachable: {type(exc).__name__}"
            ) from exc
        if answer.status_code == 429 or answer.status_code >= 500:
            raise CalendarUnavailable(f"Google's token endpoint answered {answer.status_code}")
        data = _json(answer)
        token = data.get("access_token")
        if answer.status_code != 200 or not isinstance(token, str) or not token:
            error = data.get("error", answer.status_code)
            detail = data.get("error_description", "")
            raise CalendarRejected(f"Google refused {what}: {error} {detail}".strip())
        lifetime = data.get("expires_in", 3600)
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        refresh = data.get("refresh_token")
        scope = data.get("scope")
        return GoogleGrant(
            access_token=token,
            expires_at=self._now() + timedelta(seconds=seconds),
            refresh_token=refresh if isinstance(refresh, str) else "",
            scope=scope if isinstance(scope, str) else "",
        )


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
