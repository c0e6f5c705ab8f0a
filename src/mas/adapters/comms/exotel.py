"""Exotel over httpx (Voice v1 API): click-to-call, SMS, call details and recordings.

Wire format (developer.exotel.com, Voice v1 and SMS):

- ``POST https://{subdomain}/v1/Accounts/{sid}/Calls/connect.json``, form-encoded ``From``
  (the agent, rung first), ``To`` (the lead), ``CallerId`` (the ExoPhone both see),
  ``StatusCallback``, ``StatusCallbackEvents[0]=terminal``, ``CustomField`` (≤ 128 chars,
  echoed in the callback), ``Record``; answers ``{"Call": {"Sid", "Status", ...}}``.
- ``POST .../Sms/send.json`` with ``From``, ``To``, ``Body``, ``StatusCallback``; answers
  ``{"SMSMessage": {"Sid", "Status", ...}}``.
- ``GET .../Calls/{CallSid}.json``; answers ``{"Call": {...}}`` with ``Duration``,
  ``RecordingUrl``, ``StartTime``, ``EndTime``.
- Errors: an HTTP status with ``{"RestException": {"Status", "Message", "Code"}}``.

Authentication is HTTP basic with the API key and token (the ``key:token@host`` form of
Exotel's examples, sent as a header so it never appears in a logged URL).

429, 5xx and transport failures raise ``TelephonyUnavailable`` (retryable); any other refusal
raises ``TelephonyRejected`` with Exotel's code and message. Nothing here retries by itself: a
repeated ``Calls/connect`` after an ambiguous timeout would ring the agent twice, so retrying
is the caller's decision (the task runner for SMS, the user for a call).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mas.core.comms.ports.telephony import (
    PROVIDER_SMS_STATUS,
    CallHandle,
    CallSnapshot,
    CallStatus,
    SmsHandle,
    SmsStatus,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
    call_status,
    parse_call_callback,
)
from mas.core.platform.errors import ValidationFailed

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mas.comms.exotel")

CHUNK_BYTES = 64 * 1024
MAX_CUSTOM_FIELD = 128
# Recordings on these hosts are fetched with our credentials; elsewhere (pre-signed storage
# links) without them, so a forged callback cannot make us send the API token to its host.
DEFAULT_AUTH_HOSTS = ("exotel.com", "exotel.in")


class ExotelClient:
    def __init__(
        self,
        *,
        subdomain: str,
        sid: str,
        api_key: str,
        api_token: str,
        caller_id: str,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        record: bool = True,
        auth_hosts: Iterable[str] = DEFAULT_AUTH_HOSTS,
        chunk_bytes: int = CHUNK_BYTES,
        scheme: str = "https",
    ) -> None:
        self._settings = {
            "MAS_EXOTEL_SUBDOMAIN": subdomain.strip(),
            "MAS_EXOTEL_SID": sid.strip(),
            "MAS_EXOTEL_API_KEY": api_key.strip(),
            "MAS_EXOTEL_API_TOKEN": api_token.strip(),
            "MAS_EXOTEL_CALLER_ID": caller_id.strip(),
        }
        self._base = f"{scheme}://{subdomain.strip()}/v1/Accounts/{sid.strip()}"
        self._auth = (api_key.strip(), api_token.strip())
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s
        self._record = record
        self._auth_hosts = tuple(host.lower() for host in auth_hosts)
        self._chunk_bytes = chunk_bytes
        self._api_host = subdomain.strip().lower()

    # --- configuration ------------------------------------------------------------------------

    @property
    def missing_settings(self) -> list[str]:
        return [name for name, value in self._settings.items() if not value]

    @property
    def enabled(self) -> bool:
        return not self.missing_settings

    @property
    def caller_id(self) -> str:
        """The configured ExoPhone, what ``connect_call`` is usually given as ``caller_id``."""
        return self._settings["MAS_EXOTEL_CALLER_ID"]

    def _require_enabled(self) -> None:
        if not self.enabled:
            raise TelephonyDisabled(self.missing_settings)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    # --- the port -----------------------------------------------------------------------------

    async def connect_call(
        self, *, agent: str, lead: str, caller_id: str, status_callback: str, ref: str
    ) -> CallHandle:
        self._require_enabled()
        if len(ref) > MAX_CUSTOM_FIELD:
            raise ValidationFailed(f"ref is longer than Exotel's {MAX_CUSTOM_FIELD} characters")
        form = {
            "From": agent,
            "To": lead,
            "CallerId": caller_id or self.caller_id,
            "StatusCallback": status_callback,
            "StatusCallbackEvents[0]": "terminal",
            "CustomField": ref,
            "Record": "true" if self._record else "false",
        }
        call = self._entity(await self._request("POST", "/Calls/connect.json", form), "Call")
        sid = _text(call.get("Sid"))
        if not sid:
            raise self._malformed("Calls/connect", "no Sid")
        return CallHandle(
            provider_call_id=sid,
            status=call_status(_text(call.get("Status"))) or CallStatus.INITIATED,
        )

    async def send_sms(self, *, to: str, body: str, status_callback: str) -> SmsHandle:
        self._require_enabled()
        form = {"From": self.caller_id, "To": to, "Body": body, "StatusCallback": status_callback}
        message = self._entity(await self._request("POST", "/Sms/send.json", form), "SMSMessage")
        sid = _text(message.get("Sid"))
        if not sid:
            raise self._malformed("Sms/send", "no Sid")
        word = _text(message.get("Status")).lower()
        return SmsHandle(provider_sid=sid, status=PROVIDER_SMS_STATUS.get(word, SmsStatus.QUEUED))

    async def get_call(self, provider_call_id: str) -> CallSnapshot:
        self._require_enabled()
        if not provider_call_id or "/" in provider_call_id or len(provider_call_id) > 128:
            raise ValidationFailed("not an Exotel call id")
        call = self._entity(
            await self._request("GET", f"/Calls/{provider_call_id}.json", None), "Call"
        )
        fields = {
            "CallSid": _text(call.get("Sid")) or provider_call_id,
            "Status": _text(call.get("Status")),
            "Duration": _text(call.get("Duration")),
            "ConversationDuration": _text(call.get("ConversationDuration")),
            "RecordingUrl": _text(call.get("RecordingUrl")),
            "StartTime": _text(call.get("StartTime")),
            "EndTime": _text(call.get("EndTime")),
            "CustomField": _text(call.get("CustomField")),
        }
        try:
            return parse_call_callback({k: v for k, v in fields.items() if v})
        except ValidationFailed:
            raise self._malformed("Calls/{sid}", "no known Status") from None

    async def open_recording(self, url: str) -> AsyncIterator[bytes]:
        import httpx

        self._require_enabled()
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationFailed("the recording URL is not an http(s) URL")
        host = parts.hostname.lower()
        trusted = host == self._api_host or any(
            host == known or host.endswith("." + known) for known in self._auth_hosts
        )
        request = self._client().build_request("GET", url, timeout=self._timeout_s)
        try:
            response = await self._client().send(
                request, auth=self._auth if trusted else None, stream=True
            )
        except httpx.TransportError as exc:
            log.warning("exotel.recording_unreachable", extra={"host": host, "error": repr(exc)})
            raise TelephonyUnavailable("the call recording could not be fetched") from exc
        try:
            if response.status_code != 200:
                await response.aread()
                self._raise_for(response, "recording")
            async for chunk in response.aiter_bytes(self._chunk_bytes):
                yield chunk
        except httpx.TransportError as exc:
            log.warning("exotel.recording_cut", extra={"host": host, "error": repr(exc)})
            raise TelephonyUnavailable("the call recording download was cut off") from exc
        finally:
            await response.aclose()

    # --- wire ---------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, form: dict[str, str] | None) -> Any:
        import httpx

        try:
            response = await self._client().request(
                method,
                self._base + path,
                data=form,
                auth=self._auth,
                timeout=self._timeout_s,
                headers={"Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            log.warning("exotel.unreachable", extra={"path": path, "error": repr(exc)})
            raise TelephonyUnavailable("Exotel could not be reached") from exc
        if response.status_code not in (200, 201, 202):
            self._raise_for(response, path)
        try:
            return response.json()
        except ValueError:
            raise self._malformed(path, "not JSON") from None

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        code, message = _rest_exception(response)
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after", "")
            log.warning("exotel.unavailable", extra={"what": what, "status": status})
            raise TelephonyUnavailable(
                f"Exotel answered HTTP {status}; try again later",
                retry_after=int(retry_after) if retry_after.isdigit() else None,
            )
        log.warning(
            "exotel.rejected",
            extra={"what": what, "status": status, "code": code, "provider_message": message},
        )
        raise TelephonyRejected(http_status=status, provider_code=code, provider_message=message)

    @staticmethod
    def _entity(document: Any, name: str) -> dict[str, Any]:
        entity = document.get(name) if isinstance(document, dict) else None
        if not isinstance(entity, dict):
            raise ExotelClient._malformed(name, f"no {name!r} object")
        return entity

    @staticmethod
    def _malformed(what: str, why: str) -> TelephonyUnavailable:
        log.error("exotel.malformed_answer", extra={"what": what, "why": why})
        return TelephonyUnavailable(f"Exotel answered {what} in an unexpected shape ({why})")


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float | str):
        return str(value).strip()
    return ""


def _rest_exception(response: httpx.Response) -> tuple[str | None, str]:
    """Exotel's ``RestException`` code and message, or the HTTP reason when the body has none."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    error = body.get("RestException") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = _text(error.get("Code")) or None
        message = _text(error.get("Message")) or response.reason_phrase or "refused"
        return code, message[:300]
    return None, response.reason_phrase or f"HTTP {response.status_code}"
