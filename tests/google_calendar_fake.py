"""A fake Google Calendar speaking the v3 wire format, with Google's OAuth token endpoint.

An ASGI app (mounted on ``httpx.ASGITransport``), so the adapter's real HTTP requests, query
strings and bodies are what is checked. What it follows of Google's documented behaviour:

- ``POST /token`` (form): ``grant_type=refresh_token``, ``refresh_token``, ``client_id``,
  ``client_secret`` → ``{"access_token", "expires_in", "scope", "token_type": "Bearer"}``;
  a wrong client → 401 ``{"error": "invalid_client"}``, an unknown or revoked refresh token →
  400 ``{"error": "invalid_grant", "error_description": ...}``.
  ``grant_type=authorization_code`` with ``code`` and ``redirect_uri``: a code from
  ``authorize(redirect_uri)`` works once and only with the redirect it was issued for, and
  answers a new refresh token too; a used or unknown code → 400 ``invalid_grant``, another
  redirect → 400 ``redirect_uri_mismatch``.
- ``POST /calendar/v3/calendars/{calendarId}/events?sendUpdates=`` → 200 with the event; a
  client-supplied ``id`` must be 5-1024 characters of base32hex (``0-9a-v``), else 400
  ``invalid``; an id used before (even by a deleted event) → 409 ``duplicate``; an end not
  after the start → 400 ``timeRangeEmpty``.
- ``GET``/``PUT``/``DELETE .../events/{eventId}``: a deleted event stays readable with
  ``"status": "cancelled"`` (DELETE of it → 410 ``deleted``), a PUT with ``status: confirmed``
  restores it; an unknown id → 404 ``notFound``.
- Errors are ``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}],
  "status"}}``; a missing or unknown bearer token → 401 ``authError``.

``fail_next(status, reason)`` answers the next API call (not the token endpoint) with that
error, ``expire_tokens()`` makes every issued access token stale (401 on next use).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

CLIENT_ID = "mas-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-secret"
_ID = re.compile(r"[a-v0-9]{5,1024}")
_EVENTS = re.compile(r"^/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?$")
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
           404: "NOT_FOUND", 409: "ALREADY_EXISTS", 410: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip


@dataclass
class FakeGoogleCalendar:
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-mentor-1"})
    access_tokens: dict[str, str] = field(default_factory=dict)
    """access token → the refresh token it was issued for."""
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    token_grants: int = 0
    codes: dict[str, str] = field(default_factory=dict)
    """authorization code → the redirect URI it was issued for (single use)."""
    _failures: list[tuple[int, str]] = field(default_factory=list)

    def authorize(self, redirect_uri: str) -> str:
        """What Google's consent page does when the user agrees: a code for the callback."""
        code = "4/0A" + secrets.token_urlsafe(16)
        self.codes[code] = redirect_uri
        return code

    def fail_next(self, status: int, reason: str = "backendError") -> None:
        self._failures.append((status, reason))

    def expire_tokens(self) -> None:
        self.access_tokens.clear()

    def events(self, calendar_id: str = "primary") -> dict[str, dict[str, Any]]:
        return self.calendars.setdefault(calendar_id, {})

    # --- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode())
        raw_path = scope.get("raw_path") or path.encode()
        self.requests.append((method, raw_path.decode(), query))  # as sent, still quoted
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status, answer = self._route(method, path, query, headers, body)
        payload = b"" if answer is None else json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=UTF-8")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[int, Any]:
        if path == "/token" and method == "POST":
            return self._token(body, headers)
        match = _EVENTS.match(path)
        if match is None:
            return _error(404, "notFound", "Not Found")
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return _error(401, "authError", "Request had invalid authentication credentials.")
        if self._failures:
            status, reason = self._failures.pop(0)
            return _error(status, reason, f"fake failure {status} {reason}")
        send_updates = query.get("sendUpdates", ["false"])[0]
        if send_updates not in ("all", "externalOnly", "none", "false"):
            return _error(400, "invalidParameter", "Invalid value for: sendUpdates")
        events = self.events(unquote(match.group(1)))
        event_id = unquote(match.group(2)) if match.group(2) else None
        if event_id is None:
            if method != "POST":
                return _error(405, "httpMethodNotAllowed", "Method not allowed")
            return self._insert(events, json.loads(body or b"{}"))
        event = events.get(event_id)
        if event is None:
            return _error(404, "notFound", "Not Found")
        if method == "GET":
            return 200, event
        if method == "DELETE":
            if event["status"] == "cancelled":
                return _error(410, "deleted", "Resource has been deleted")
            event["status"] = "cancelled"
            return 204, None
        if method == "PUT":
            given = json.loads(body or b"{}")
            problem = _check_times(given)
            if problem:
                return problem
            event.update(given, id=event_id)
            event["status"] = given.get("status", "confirmed")
            return 200, event
        return _error(405, "httpMethodNotAllowed", "Method not allowed")

    def _token(self, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request", "error_description": "Bad content type"}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
        if form.get("grant_type") == "authorization_code":
            return self._code_grant(form)
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type", "error_description": "Bad grant"}
        if form.get("refresh_token") not in self.refresh_tokens:
            return 400, {
                "error": "invalid_grant",
                "error_description": "Token has been expired or revoked.",
            }
        self.token_grants += 1
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = form["refresh_token"]
        return 200, {
            "access_token": token,
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/calendar.events",
            "token_type": "Bearer",
        }

    def _code_grant(self, form: dict[str, str]) -> tuple[int, Any]:
        redirect = self.codes.get(form.get("code", ""))
        if redirect is None:
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        if form.get("redirect_uri") != redirect:
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        del self.codes[form["code"]]
        refresh = "1//0g" + secrets.token_urlsafe(24)
        self.refresh_tokens.add(refresh)
        self.token_grants += 1
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = refresh
        return 200, {
            "access_token": token,
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": "https://www.googleapis.com/auth/calendar.events",
            "token_type": "Bearer",
        }

    def _insert(self, events: dict[str, dict[str, Any]], given: dict[str, Any]) -> tuple[int, Any]:
        event_id = given.get("id") or secrets.token_hex(13)
        if not _ID.fullmatch(event_id):
            return _error(400, "invalid", "Invalid resource id value.")
        if event_id in events:
            return _error(409, "duplicate", "The requested identifier already exists.")
        problem = _check_times(given)
        if problem:
            return problem
        for attendee in given.get("attendees", []):
            if "@" not in attendee.get("email", ""):
                return _error(400, "invalid", "Invalid attendee email.")
        event = {
            "kind": "calendar#event",
            "etag": f'"{secrets.token_hex(8)}"',
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            **given,
            "id": event_id,
        }
        events[event_id] = event
        return 200, event


def _check_times(given: dict[str, Any]) -> tuple[int, Any] | None:
    try:
        start = datetime.fromisoformat(given["start"]["dateTime"])
        end = datetime.fromisoformat(given["end"]["dateTime"])
    except (KeyError, TypeError, ValueError):
        return _error(400, "required", "Missing or bad start/end time.")
    if start.tzinfo is None or end.tzinfo is None:
        return _error(400, "invalid", "Missing time zone definition for start time.")
    if end <= start:
        return _error(400, "timeRangeEmpty", "The specified time range is empty.")
    return None


def _error(status: int, reason: str, message: str) -> tuple[int, Any]:
    return status, {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
            "status": _STATUS.get(status, "UNKNOWN"),
        }
    }
