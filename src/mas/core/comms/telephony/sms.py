"""Transactional SMS to a lead, the messenger's queued SMS, their delivery reports, and the
resend of what the provider never took.

The SMS log (QUEUED) and the lead's one SMS journal line commit together before the provider
is asked; then the row becomes SENT (with the provider's sid) or FAILED (the provider refused:
a DND-listed number, a bad number; its message is kept in ``error``). When the provider cannot
be reached the row stays QUEUED and the request still succeeds (no request fails because a
provider is down): the reconcile sweep sends it again, up to ``MAX_ATTEMPTS`` tries in all,
then marks it FAILED.

An SMS another domain queued through the messenger (``telephony.writer``) is sent by the
``comms.sms.send`` task (``deliver``) after the caller's commit, by the same path. With
telephony unconfigured that task marks it FAILED (``error=NOT_CONFIGURED``) without asking
anyone.

Each attempt is claimed first (``SmsLogRepository.claim``: a compare-and-set on the attempt
count that also stamps ``status_at``), so the send task, the lead route and the sweep never ask
the provider twice for one attempt; the sweep takes only rows untouched for a minute.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta

import msgspec

from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.ports.telephony import (
    PROVIDER_SMS_STATUS,
    SmsStatus,
    Telephony,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
)
from mas.core.comms.telephony.model import SmsLog, SmsRequest, SmsView
from mas.core.comms.telephony.ports import TelephonyUnitOfWork
from mas.core.comms.telephony.tasks import SEND_SMS, SmsRef
from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.comms.telephony")

MAX_ATTEMPTS = 3
RESEND_AFTER = timedelta(minutes=1)
"""A QUEUED message untouched this long without a provider sid is sent again (never one the
request or task that wrote or claimed it may still be sending)."""
RESEND_BATCH = 100
UNREACHABLE = "the SMS provider could not be reached"
NOT_CONFIGURED = "telephony is not configured"


class SmsService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[TelephonyUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        telephony: Telephony,
        leads: LeadDirectory,
        status_callback: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._telephony = telephony
        self._leads = leads
        self._status_callback = status_callback

    async def send(self, caller: Caller, lead_id: uuid.UUID, request: SmsRequest) -> SmsView:
        lead = await self._leads.reachable(caller, lead_id)
        if not self._telephony.enabled:
            raise TelephonyDisabled(())
        if not lead.phone_e164:
            raise ValidationFailed("the lead has no phone number to text", code="lead_has_no_phone")
        now = self._clock.now()
        sms = SmsLog(
            id=uuid7(),
            raw_lead_id=lead.lead_id,
            user_id=caller.user_id,
            to_number=lead.phone_e164,
            body=request.body,
            status=SmsStatus.QUEUED,
            created_at=now,
            status_at=now,
        )
        async with self._uow() as uow:
            await uow.sms_logs.add(sms)
            await self._leads.record_contact(
                uow,
                lead.lead_id,
                "SMS",
                f"SMS: {request.body[:120]}",
                caller.user_id,
                sms_id=str(sms.id),
            )
            await uow.commit()
        return SmsView.of(await self._deliver(sms))

    async def submit(self, sms_id: uuid.UUID) -> None:
        """Hand a committed QUEUED row (the messenger's) to the send task."""
        await self._jobs.submit(SEND_SMS, SmsRef(sms_id))

    async def deliver(self, sms_id: uuid.UUID) -> SmsLog | None:
        """The send task: send a QUEUED message the provider has not taken (else nothing)."""
        async with self._uow() as uow:
            sms = await uow.sms_logs.get(sms_id)
        if sms is None or sms.status is not SmsStatus.QUEUED or sms.provider_sid is not None:
            return sms
        if not self._telephony.enabled:
            log.warning("telephony.sms_not_configured", extra={"sms_id": str(sms_id)})
            return await self._settle(sms, SmsStatus.FAILED, sms.attempts, error=NOT_CONFIGURED)
        return await self._deliver(sms)

    async def _deliver(self, sms: SmsLog) -> SmsLog:
        tried = sms.attempts + 1
        async with self._uow() as uow:
            claimed = await uow.sms_logs.claim(sms.id, sms.attempts, self._clock.now())
            if claimed:
                await uow.commit()
            else:
                current = await uow.sms_logs.get(sms.id)
        if not claimed:
            assert current is not None, "an SMS log is never deleted"
            return current  # another sender has this attempt, or settled it
        try:
            handle = await self._telephony.send_sms(
                to=sms.to_number, body=sms.body, status_callback=self._status_callback
            )
        except TelephonyRejected as exc:
            return await self._settle(sms, SmsStatus.FAILED, tried, error=exc.provider_message)
        except TelephonyUnavailable:
            log.warning("telephony.sms_unsent", extra={"sms_id": str(sms.id), "attempts": tried})
            if tried >= MAX_ATTEMPTS:
                return await self._settle(sms, SmsStatus.FAILED, tried, error=UNREACHABLE)
            return await self._settle(sms, SmsStatus.QUEUED, tried)
        return await self._settle(sms, SmsStatus.SENT, tried, sid=handle.provider_sid)

    async def _settle(
        self,
        sms: SmsLog,
        status: SmsStatus,
        attempts: int,
        *,
        error: str | None = None,
        sid: str | None = None,
    ) -> SmsLog:
        async with self._uow() as uow:
            current = await uow.sms_logs.get(sms.id, lock=True)
            assert current is not None, "an SMS log is never deleted"
            if current.status is not SmsStatus.QUEUED or current.provider_sid is not None:
                return current  # another sender settled it first
            settled = msgspec.structs.replace(
                current,
                status=status,
                attempts=attempts,
                provider_sid=sid,
                error=error[:300] if error else None,
                status_at=self._clock.now() if status is not current.status else current.status_at,
            )
            if await uow.sms_logs.save(settled, current.status):
                await uow.commit()
                return settled
            return current

    async def on_status(self, form: Mapping[str, str]) -> bool:
        """Apply Exotel's SMS status callback; False when it changed nothing (an unknown sid,
        a report older than what we know). A callback without sid or known status is a 422."""
        sid = (form.get("SmsSid") or form.get("Sid") or "").strip()
        word = (form.get("Status") or form.get("SmsStatus") or "").strip()
        target = PROVIDER_SMS_STATUS.get(word.lower())
        errors = []
        if not sid or len(sid) > 128:
            errors.append(FieldError("SmsSid", "the message id is missing or too long"))
        if target is None:
            errors.append(FieldError("Status", f"unknown SMS status {word[:40]!r}"))
        if errors or target is None:
            raise ValidationFailed("the SMS status callback is incomplete", errors=errors)
        async with self._uow() as uow:
            sms = await uow.sms_logs.by_provider_sid(sid, lock=True)
            if sms is None:
                log.info("telephony.sms_callback_unknown", extra={"sid": sid})
                return False
            if not sms.can_move(target):
                return False
            failed = target in (SmsStatus.FAILED, SmsStatus.UNDELIVERED)
            detail = (form.get("DetailedStatus") or word).replace("\x00", "")[:300]
            moved = msgspec.structs.replace(
                sms,
                status=target,
                status_at=self._clock.now(),
                error=detail if failed else sms.error,
            )
            if not await uow.sms_logs.save(moved, sms.status):
                return False
            await uow.commit()
            return True

    async def resend(self) -> int:
        """Send again what the provider never took; returns how many it took now."""
        if not self._telephony.enabled:
            return 0
        async with self._uow() as uow:
            unsent = await uow.sms_logs.unsent(
                self._clock.now() - RESEND_AFTER, MAX_ATTEMPTS, RESEND_BATCH
            )
        sent = 0
        for sms in unsent:
            settled = await self._deliver(sms)
            if settled.status is SmsStatus.QUEUED:
                break  # the provider is down: the next sweep tries again
            sent += settled.status is SmsStatus.SENT
        return sent
