"""Click-to-call for a lead, the provider's completion callback, recordings, and the sweep that
resolves calls whose callback never came.

Placing a call (communications.md §5): the call log (INITIATED, source EXOTEL) and the lead's
one CALL journal line commit together *before* the provider is asked, so a call the provider
places is never missing from our records. Then:

- the provider takes it: its call id is stored (its "in-progress" answer to ``Calls/connect``
  means the request is being worked on, not that anyone answered, so the state stays INITIATED
  until the callback);
- it refuses (a bad number, bad credentials): the log becomes FAILED with the provider's word,
  and the route answers 502 ``telephony_rejected``;
- it cannot be reached: the log stays INITIATED without a provider id, the route answers 503
  ``telephony_unavailable`` (the agent may try again: such a call blocks them for two minutes
  only), and the reconcile sweep marks it FAILED after 30 minutes.

The completion callback, the sweep and a refusal all go through ``CallLog.moved``: terminal
states never change, so a second identical callback changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.ports.telephony import (
    CallSnapshot,
    CallStatus,
    Telephony,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
    parse_call_callback,
)
from mas.core.comms.telephony.model import CallLog, CallSource, CallView
from mas.core.comms.telephony.ports import TelephonyUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.comms.telephony")

STALE_AFTER = timedelta(minutes=30)
"""An unfinished call this old is asked about (communications.md §7) and no longer blocks its
agent from placing another."""
UNCONFIRMED_BLOCKS_FOR = timedelta(minutes=2)
"""A call the provider never confirmed (it was unreachable) blocks its agent this long."""
SWEEP_HORIZON = timedelta(days=2)
"""Older unfinished calls are left alone (a call the provider keeps reporting as in progress
would otherwise be asked about forever)."""
SWEEP_BATCH = 200


class CallService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[TelephonyUnitOfWork],
        clock: Clock,
        telephony: Telephony,
        leads: LeadDirectory,
        status_callback: str,
        caller_id: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._telephony = telephony
        self._leads = leads
        self._status_callback = status_callback
        self._caller_id = caller_id

    # --- placing a call ---------------------------------------------------------------------

    async def place(self, caller: Caller, lead_id: uuid.UUID) -> CallView:
        """Ring the caller's own phone, then bridge the lead (404 outside the caller's scope)."""
        lead = await self._leads.reachable(caller, lead_id)
        if not self._telephony.enabled:
            raise TelephonyDisabled(())
        if not lead.phone_e164:
            raise ValidationFailed("the lead has no phone number to call", code="lead_has_no_phone")
        now = self._clock.now()
        async with self._uow() as uow:
            agent = await uow.call_logs.agent_phone(caller.user_id)
            if agent is None:
                raise ValidationFailed(
                    "your profile has no phone number: add one to place calls",
                    code="agent_has_no_phone",
                )
            active = await uow.call_logs.active_for_agent(
                caller.user_id,
                confirmed_since=now - STALE_AFTER,
                unconfirmed_since=now - UNCONFIRMED_BLOCKS_FOR,
            )
            if active is not None:
                raise Conflict(
                    f"you already have a call in progress (call {active.id})",
                    code="call_already_active",
                )
            call = CallLog(
                id=uuid7(),
                raw_lead_id=lead.lead_id,
                user_id=caller.user_id,
                source=CallSource.EXOTEL,
                status=CallStatus.INITIATED,
                created_at=now,
                agent_number=agent,
                lead_number=lead.phone_e164,
                caller_id=self._caller_id[:20] or None,
            )
            await uow.call_logs.add(call)
            await self._leads.record_contact(
                uow, lead.lead_id, "CALL", "Call placed", caller.user_id, call_id=str(call.id)
            )
            await uow.commit()
        try:
            handle = await self._telephony.connect_call(
                agent=agent,
                lead=lead.phone_e164,
                caller_id=self._caller_id,
                status_callback=self._status_callback,
                ref=str(call.id),
            )
        except TelephonyRejected as exc:
            await self._fail(call.id, {"ProviderError": exc.provider_message})
            raise
        except TelephonyUnavailable:
            log.warning("telephony.call_unconfirmed", extra={"call_id": str(call.id)})
            raise
        return CallView.of(await self._confirm(call.id, handle.provider_call_id))

    async def _confirm(self, call_id: uuid.UUID, provider_call_id: str) -> CallLog:
        async with self._uow() as uow:
            call = await uow.call_logs.get(call_id, lock=True)
            assert call is not None, "a call log is never deleted"
            if call.provider_call_id is None:
                call.provider_call_id = provider_call_id
                await uow.call_logs.save(call, call.status)
                await uow.commit()
            return call

    async def _fail(self, call_id: uuid.UUID, raw: dict[str, str]) -> None:
        failed = CallSnapshot(provider_call_id="", status=CallStatus.FAILED)
        async with self._uow() as uow:
            call = await uow.call_logs.get(call_id, lock=True)
            moved = call.moved(failed, raw) if call is not None else None
            if call is not None and moved is not None:
                moved.provider_call_id = call.provider_call_id
                if await uow.call_logs.save(moved, call.status):
                    await uow.commit()

    # --- what the provider tells us ---------------------------------------------------------

    async def on_callback(self, form: Mapping[str, str]) -> bool:
        """Apply Exotel's completion callback; False when it changed nothing (an unknown call,
        a finished one, the same callback again). A malformed one is a 422."""
        snapshot = parse_call_callback(form)
        return await self._apply(snapshot, dict(form))

    async def _apply(self, snapshot: CallSnapshot, raw: dict[str, str]) -> bool:
        async with self._uow() as uow:
            call = await uow.call_logs.by_provider_id(snapshot.provider_call_id, lock=True)
            ref = _as_uuid(snapshot.ref)
            if call is None and ref is not None:
                # The callback can beat ``_confirm``: the call is found by our own id (its
                # CustomField) while it has no provider id yet.
                by_ref = await uow.call_logs.get(ref, lock=True)
                call = by_ref if by_ref is not None and by_ref.provider_call_id is None else None
            if call is None:
                log.info(
                    "telephony.callback_unknown_call", extra={"sid": snapshot.provider_call_id}
                )
                return False
            moved = call.moved(snapshot, raw)
            if moved is None:
                log.info(
                    "telephony.callback_ignored",
                    extra={"call_id": str(call.id), "status": call.status, "to": snapshot.status},
                )
                return False
            if not await uow.call_logs.save(moved, call.status):
                return False
            await uow.commit()
            return True

    async def drop_raw_callbacks(self, keep: timedelta) -> int:
        """Forget Exotel's raw callbacks older than ``keep`` (log retention)."""
        async with self._uow() as uow:
            dropped = await uow.call_logs.drop_raw_callbacks(self._clock.now() - keep)
            await uow.commit()
        return dropped

    async def reconcile(self) -> int:
        """Ask the provider about calls left unfinished for 30 minutes (their callback never
        came); returns how many changed. Idempotent: a finished call is never rewritten."""
        if not self._telephony.enabled:
            return 0
        now = self._clock.now()
        async with self._uow() as uow:
            stale = await uow.call_logs.stale(now - STALE_AFTER, now - SWEEP_HORIZON, SWEEP_BATCH)
        changed = 0
        for call in stale:
            if call.provider_call_id is None:
                await self._fail(call.id, {"Reconcile": "the provider never confirmed this call"})
                changed += 1
                continue
            try:
                snapshot = await self._telephony.get_call(call.provider_call_id)
            except TelephonyRejected as exc:
                await self._fail(call.id, {"Reconcile": exc.provider_message})
                changed += 1
                continue
            except TelephonyUnavailable:
                log.warning("telephony.reconcile_unavailable", extra={"left": len(stale)})
                break
            raw = {"Reconcile": "call details", "Status": snapshot.status.value}
            changed += await self._apply(snapshot, raw)
        return changed

    # --- reading ----------------------------------------------------------------------------

    async def for_lead(
        self, caller: Caller, lead_id: uuid.UUID, req: PageRequest
    ) -> Page[CallView]:
        await self._leads.reachable(caller, lead_id)
        async with self._uow() as uow:
            page = await uow.call_logs.page_for_lead(lead_id, req)
        return Page(
            items=[CallView.of(call) for call in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    async def recording(self, caller: Caller, call_id: uuid.UUID) -> AsyncIterator[bytes]:
        """The call's recording, streamed from the provider, to those who can see the lead.

        The first chunk is fetched here, so a provider refusal (502) or outage (503) is an
        answer of its own rather than a stream cut short."""
        async with self._uow() as uow:
            call = await uow.call_logs.get(call_id)
        if call is None:
            raise NotFound(f"call {call_id} not found", code="call_not_found")
        await self._leads.reachable(caller, call.raw_lead_id)
        if call.recording_url is None:
            raise NotFound("this call has no recording", code="recording_not_found")
        chunks = self._telephony.open_recording(call.recording_url)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        return _resumed(first, chunks)


async def _resumed(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def _as_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
