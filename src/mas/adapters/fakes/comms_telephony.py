"""In-memory telephony (communications.md §8): records calls, deterministic ids, failures on demand.

``FakeTelephony(enabled=False)`` behaves as an unconfigured Exotel: ``enabled`` is False and
every operation raises ``TelephonyDisabled``. ``fail_next(n, retryable=True)`` makes the next
``n`` operations fail as a provider outage (``TelephonyUnavailable``) or, with
``retryable=False``, as a refusal (``TelephonyRejected``). ``finish`` moves a call on, as the
provider would before its completion callback, so ``get_call`` (the reconcile job) sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mas.core.comms.ports.telephony import (
    EXOTEL_SETTINGS,
    CallHandle,
    CallSnapshot,
    CallStatus,
    SmsHandle,
    SmsStatus,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
)

Operation = Literal["connect_call", "send_sms", "get_call", "open_recording"]


@dataclass(frozen=True)
class PlacedCall:
    agent: str
    lead: str
    caller_id: str
    status_callback: str
    ref: str
    provider_call_id: str


@dataclass(frozen=True)
class SentSms:
    to: str
    body: str
    status_callback: str
    provider_sid: str


@dataclass
class FakeTelephony:
    enabled: bool = True
    recording: bytes = b"ID3fake-recording"
    chunk_bytes: int = 4
    calls: list[PlacedCall] = field(default_factory=list)
    sms: list[SentSms] = field(default_factory=list)
    operations: list[tuple[Operation, str]] = field(default_factory=list)
    snapshots: dict[str, CallSnapshot] = field(default_factory=dict)
    _failures: int = 0
    _retryable: bool = True
    _counter: int = 0

    def fail_next(self, n: int = 1, *, retryable: bool = True) -> None:
        """The next ``n`` operations fail: an outage if ``retryable``, else a refusal."""
        self._failures = n
        self._retryable = retryable

    def finish(
        self,
        provider_call_id: str,
        status: CallStatus = CallStatus.COMPLETED,
        *,
        duration_s: int | None = 42,
        recording_url: str | None = "https://recordings.exotel.com/fake.mp3",
    ) -> CallSnapshot:
        before = self.snapshots[provider_call_id]
        answered = status is CallStatus.COMPLETED
        snapshot = CallSnapshot(
            provider_call_id=provider_call_id,
            status=status,
            duration_s=duration_s if answered else 0,
            recording_url=recording_url if answered else None,
            ref=before.ref,
        )
        self.snapshots[provider_call_id] = snapshot
        return snapshot

    def _next_id(self) -> str:
        self._counter += 1
        return f"fake-{self._counter}"

    def _enter(self, operation: Operation, subject: str) -> None:
        self.operations.append((operation, subject))
        if not self.enabled:
            raise TelephonyDisabled(EXOTEL_SETTINGS)
        if self._failures > 0:
            self._failures -= 1
            if self._retryable:
                raise TelephonyUnavailable("Exotel answered HTTP 503; try again later")
            raise TelephonyRejected(
                http_status=400, provider_code="13224", provider_message="fake refusal"
            )

    async def connect_call(
        self, *, agent: str, lead: str, caller_id: str, status_callback: str, ref: str
    ) -> CallHandle:
        self._enter("connect_call", lead)
        call_id = self._next_id()
        self.calls.append(PlacedCall(agent, lead, caller_id, status_callback, ref, call_id))
        self.snapshots[call_id] = CallSnapshot(
            provider_call_id=call_id, status=CallStatus.INITIATED, ref=ref
        )
        return CallHandle(provider_call_id=call_id, status=CallStatus.INITIATED)

    async def send_sms(self, *, to: str, body: str, status_callback: str) -> SmsHandle:
        self._enter("send_sms", to)
        sid = self._next_id()
        self.sms.append(SentSms(to, body, status_callback, sid))
        return SmsHandle(provider_sid=sid, status=SmsStatus.QUEUED)

    async def get_call(self, provider_call_id: str) -> CallSnapshot:
        self._enter("get_call", provider_call_id)
        snapshot = self.snapshots.get(provider_call_id)
        if snapshot is None:
            raise TelephonyRejected(
                http_status=404, provider_code=None, provider_message="call not found"
            )
        return snapshot

    async def open_recording(self, url: str) -> AsyncIterator[bytes]:
        self._enter("open_recording", url)
        for start in range(0, len(self.recording), self.chunk_bytes):
            yield self.recording[start : start + self.chunk_bytes]


if TYPE_CHECKING:  # mypy holds the fake to its port
    from mas.core.comms.ports.telephony import Telephony

    _telephony: Telephony = FakeTelephony()
