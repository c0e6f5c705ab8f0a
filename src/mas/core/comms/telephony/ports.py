"""What telephony needs from storage: the call and SMS logs, and the agent's own phone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from mas.core.comms.ports.telephony import CallStatus, SmsStatus
from mas.core.comms.telephony.model import CallLog, SmsLog
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class CallLogRepository(Protocol):
    async def add(self, log: CallLog) -> None: ...

    async def get(self, call_id: uuid.UUID, *, lock: bool = False) -> CallLog | None: ...

    async def by_provider_id(
        self, provider_call_id: str, *, lock: bool = False
    ) -> CallLog | None: ...

    async def save(self, log: CallLog, expected: CallStatus) -> bool:
        """Write ``log`` if its row is still in ``expected`` (a compare-and-set: a concurrent
        callback that moved the call first wins, and a finished call is never rewritten)."""
        ...

    async def active_for_agent(
        self, user_id: uuid.UUID, *, confirmed_since: datetime, unconfirmed_since: datetime
    ) -> CallLog | None:
        """The agent's call still going on: not finished, and placed since ``confirmed_since``
        (the provider took it) or since ``unconfirmed_since`` (the provider never answered)."""
        ...

    async def stale(self, before: datetime, not_before: datetime, limit: int) -> list[CallLog]:
        """Unfinished calls placed between ``not_before`` and ``before``, oldest first."""
        ...

    async def page_for_lead(self, lead_id: uuid.UUID, req: PageRequest) -> Page[CallLog]:
        """The lead's calls, newest first."""
        ...

    async def drop_raw_callbacks(self, before: datetime) -> int:
        """Forget ``raw_callback`` of calls created before ``before``; how many were cleared."""
        ...

    async def agent_phone(self, user_id: uuid.UUID) -> str | None:
        """The phone on the agent's profile (identity's ``users.phone``), if any."""
        ...


class SmsLogRepository(Protocol):
    async def add(self, log: SmsLog) -> None: ...

    async def get(self, sms_id: uuid.UUID, *, lock: bool = False) -> SmsLog | None: ...

    async def by_provider_sid(self, provider_sid: str, *, lock: bool = False) -> SmsLog | None: ...

    async def by_key(self, key: str) -> SmsLog | None:
        """The SMS the messenger queued with idempotency key ``key``."""
        ...

    async def add_keyed(self, log: SmsLog) -> uuid.UUID:
        """Insert ``log`` (its ``idempotency_key`` set) unless a row has that key; the id of
        the row kept. Never an error the caller's transaction cannot survive: a concurrent
        insert of the key waits for the other transaction and then answers its row."""
        ...

    async def save(self, log: SmsLog, expected: SmsStatus) -> bool:
        """Write ``log`` if its row is still in ``expected``."""
        ...

    async def claim(self, sms_id: uuid.UUID, attempts: int, at: datetime) -> bool:
        """Take the next attempt of a QUEUED message without a sid: ``attempts`` + 1 and
        ``status_at`` = ``at``, if it still has ``attempts`` tries (a compare-and-set, so of
        two senders of one message only one asks the provider)."""
        ...

    async def unsent(self, before: datetime, max_attempts: int, limit: int) -> list[SmsLog]:
        """QUEUED messages the provider never took (no sid), last touched (written or
        claimed) before ``before`` and tried fewer than ``max_attempts`` times, oldest first."""
        ...


class TelephonyUnitOfWork(UnitOfWork, Protocol):
    call_logs: CallLogRepository
    sms_logs: SmsLogRepository
