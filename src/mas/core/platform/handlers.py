"""What runs the platform's tasks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mas.core.platform.messages import OutboxStatus
from mas.core.platform.services import PlatformServices
from mas.core.platform.tasking import Handler, NoArgs, PermanentFailure
from mas.core.platform.tasks import (
    DISPATCH_OUTBOX,
    NOOP,
    REAP_STUCK,
    RELAY_OUTBOX,
    SEND_EMAIL,
    SEND_EMAILS,
    MessageBatch,
    MessageRef,
)


async def send_email(p: PlatformServices, message: MessageRef) -> None:
    """Deliver one outbox message through the configured mail transport."""
    status = await p.delivery.deliver(message.message_id)
    if status is OutboxStatus.DEAD:
        raise PermanentFailure(f"the transport refused message {message.message_id}")


async def send_emails(p: PlatformServices, batch: MessageBatch) -> None:
    """Deliver one unit of work's outbox messages in turn (each at most once)."""
    for message_id in await p.delivery.deliver_many(batch.message_ids):
        # Failed for now: it goes on alone, retried (then given up) as comms.send_email.
        await p.jobs.submit(
            SEND_EMAIL, MessageRef(message_id), delay=timedelta(seconds=SEND_EMAIL.policy.backoff_s)
        )


async def message_dead(p: PlatformServices, message: MessageRef) -> None:
    await p.delivery.give_up(message.message_id)


async def dispatch_outbox(p: PlatformServices, _: NoArgs) -> None:
    """Sweep: hand messages whose send run was lost (or that waited for config) to the send task."""
    for message_id, key in await p.delivery.undelivered():
        await p.jobs.submit(SEND_EMAIL, MessageRef(message_id), key=key)


async def relay_outbox(p: PlatformServices, _: NoArgs) -> None:
    """Sweep: publish events a crash left unpublished after their commit."""
    await p.relay.publish_events()


async def reap_stuck(p: PlatformServices, _: NoArgs) -> None:
    """Runs whose worker vanished count as a failed attempt and are retried."""
    await p.jobs.reap_stuck()


async def noop(p: PlatformServices, _: NoArgs) -> None:
    """Does nothing: proves a worker is consuming (``mas jobs ping``) and feeds the benchmark."""


HANDLERS: list[Handler[PlatformServices, Any]] = [
    Handler(SEND_EMAIL, send_email, on_dead=message_dead),
    Handler(SEND_EMAILS, send_emails),
    Handler(DISPATCH_OUTBOX, dispatch_outbox),
    Handler(RELAY_OUTBOX, relay_outbox),
    Handler(REAP_STUCK, reap_stuck),
    Handler(NOOP, noop),
]
