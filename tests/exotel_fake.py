"""A fake Exotel (Voice v1 + SMS) speaking its wire format, as a small ASGI app.

Reach it through ``httpx.ASGITransport`` (any host name routes here). It checks HTTP basic
auth, answers ``{"Call": {...}}`` / ``{"SMSMessage": {...}}`` and errors as
``{"RestException": {"Status", "Message", "Code"}}``, serves recordings (with or without
auth, per host), and can be told to fail the next requests with any status (429, 5xx...).
``complete`` moves a call to its end and returns the StatusCallback form Exotel would POST.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

KEY, TOKEN, SID = "exo-key", "exo-token", "mas1"
SUBDOMAIN = "api.in.exotel.com"
EXOPHONE = "08047112233"
RECORDING_HOST = "recordings.exotel.com"
STORAGE_HOST = "storage.example.net"  # pre-signed links: no credentials expected

_ACCOUNT = re.compile(r"^/v1/Accounts/(?P<sid>[^/]+)/(?P<rest>.+)$")
_NUMBER = re.compile(r"^\+?\d{10,13}$")


@dataclass
class Seen:
    method: str
    host: str
    path: str
    form: dict[str, str]
    authorization: str | None


@dataclass
class FakeExotel:
    recording: bytes = field(default_factory=lambda: bytes(range(256)) * 1024)  # 256 KiB
    requests: list[Seen] = field(default_factory=list)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    sms: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_with: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)
    counter: int = 0

    def fail(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.fail_with.append((status, body, headers or {}))

    def complete(
        self,
        sid: str,
        status: str = "completed",
        *,
        duration: int = 37,
        recording: bool = True,
    ) -> dict[str, str]:
        call = self.calls[sid]
        answered = status == "completed"
        call.update(
            Status=status,
            Duration=duration if answered else 0,
            StartTime="2026-12-04 10:00:00",
            EndTime="2026-12-04 10:00:45",
            RecordingUrl=(
                f"https://{RECORDING_HOST}/exotelrecordings/{SID}/{sid}.mp3"
                if answered and recording
                else None
            ),
        )
        form = {
            "CallSid": sid,
            "Status": status,
            "DateUpdated": "2026-12-04 10:00:46",
            "EventType": "terminal",
            "From": call["From"],
            "To": call["To"],
            "StartTime": call["StartTime"],
            "EndTime": call["EndTime"],
            "ConversationDuration": str(call["Duration"]),
            "CustomField": call["CustomField"],
        }
        if call["RecordingUrl"]:
            form["RecordingUrl"] = call["RecordingUrl"]
        return form

    # --- ASGI ---------------------------------------------------------------------------------

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        host = headers.get("host", "")
        self.requests.append(
            Seen(scope["method"], host, scope["path"], form, headers.get("authorization"))
        )
        status, payload, extra, kind = self._answer(
            scope["method"], host, scope["path"], form, headers
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind.encode())]
                + [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _answer(
        self,
        method: str,
        host: str,
        path: str,
        form: dict[str, str],
        headers: dict[str, str],
    ) -> tuple[int, bytes, dict[str, str], str]:
        if self.fail_with:
            status, body, extra = self.fail_with.pop(0)
            return status, body, extra, "application/json" if body[:1] == b"{" else "text/html"
        authorised = headers.get("authorization") == _basic(KEY, TOKEN)
        if host == STORAGE_HOST:  # a pre-signed link: credentials must not be sent here
            if "authorization" in headers:
                return _error(400, "unexpected credentials", None)
            return 200, self.recording, {}, "audio/mpeg"
        if host == RECORDING_HOST:
            if not authorised:
                return _error(401, "Authentication is required to view this page.", None)
            name = path.rsplit("/", 1)[-1].removesuffix(".mp3")
            if name not in self.calls or not self.calls[name].get("RecordingUrl"):
                return _error(404, "Recording not found", None)
            return 200, self.recording, {}, "audio/mpeg"
        if host != SUBDOMAIN:
            return _error(404, "unknown host", None)
        if not authorised:
            return _error(401, "Authentication is required to view this page.", None)
        match = _ACCOUNT.match(path)
        if match is None or match["sid"] != SID:
            return _error(403, "You are not authorized to access this account", None)
        rest = match["rest"].removesuffix(".json")
        if method == "POST" and rest == "Calls/connect":
            return self._connect(form)
        if method == "POST" and rest == "Sms/send":
            return self._send_sms(form)
        if method == "GET" and rest.startswith("Calls/"):
            call = self.calls.get(rest.removeprefix("Calls/"))
            if call is None:
                return _error(404, "Call not found", "20404")
            return _ok({"Call": call})
        return _error(404, "The requested resource was not found", None)

    def _next_sid(self) -> str:
        self.counter += 1
        return f"b6cfaf5f5cef3ca0fc93774{self.counter:09d}"

    def _connect(self, form: dict[str, str]) -> tuple[int, bytes, dict[str, str], str]:
        for name in ("From", "To", "CallerId"):
            if not form.get(name):
                return _error(400, f"Missing parameter {name}", "10001")
        if not _NUMBER.match(form["To"]):
            return _error(400, f"To: '{form['To']}' is not a valid phone number", "11001")
        if form["CallerId"] != EXOPHONE:
            return _error(400, "CallerId is not an ExoPhone of this account", "11002")
        sid = self._next_sid()
        call = {
            "Sid": sid,
            "ParentCallSid": None,
            "DateCreated": "2026-12-04 10:00:00",
            "DateUpdated": "2026-12-04 10:00:00",
            "AccountSid": SID,
            "To": form["To"],
            "From": form["From"],
            "PhoneNumberSid": form["CallerId"],
            "Status": "in-progress",
            "StartTime": "2026-12-04 10:00:00",
            "EndTime": None,
            "Duration": None,
            "Price": None,
            "Direction": "outbound-api",
            "AnsweredBy": None,
            "ForwardedFrom": None,
            "CallerName": None,
            "Uri": f"/v1/Accounts/{SID}/Calls/{sid}.json",
            "RecordingUrl": None,
            "CustomField": form.get("CustomField", ""),
        }
        self.calls[sid] = call
        return _ok({"Call": call})

    def _send_sms(self, form: dict[str, str]) -> tuple[int, bytes, dict[str, str], str]:
        for name in ("From", "To", "Body"):
            if not form.get(name):
                return _error(400, f"Missing parameter {name}", "10001")
        if form["To"].endswith("0000"):  # stands for a DND-registered number
            return _error(400, "The number is DND registered", "12011")
        sid = f"sms{self._next_sid()}"
        message = {
            "Sid": sid,
            "AccountSid": SID,
            "From": f"{form['From']}/MASEDU",
            "To": form["To"],
            "DateCreated": "2026-12-04 10:00:00",
            "DateUpdated": "2026-12-04 10:00:00",
            "DateSent": None,
            "Body": form["Body"],
            "Direction": "outbound-api",
            "Uri": f"/v1/Accounts/{SID}/SMS/Messages/{sid}.json",
            "ApiVersion": None,
            "Price": None,
            "Status": "queued",
            "DetailedStatusCode": 21010,
            "DetailedStatus": "PENDING_TO_OPERATOR",
        }
        self.sms[sid] = message
        return _ok({"SMSMessage": message})


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _ok(document: dict[str, Any]) -> tuple[int, bytes, dict[str, str], str]:
    return 200, json.dumps(document).encode(), {}, "application/json"


def _error(status: int, message: str, code: str | None) -> tuple[int, bytes, dict[str, str], str]:
    error: dict[str, Any] = {"Status": status, "Message": message}
    if code is not None:
        error["Code"] = code
    return status, json.dumps({"RestException": error}).encode(), {}, "application/json"
