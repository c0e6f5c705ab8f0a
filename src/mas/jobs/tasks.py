"""Platform tasks: outbox delivery and relay, ledger upkeep, a no-op for probes and benchmarks."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from mas.jobs.registry import PermanentFailure, task

if TYPE_CHECKING:
    from mas.bootstrap import Container


async def _message_dead(c: Container, message_id: str) -> None:
    await c.delivery.give_up(uuid.UUID(message_id))


@task("comms.send_email", attempts=5, backoff_s=30, timeout_s=60, on_dead=_message_dead)
async def send_email(c: Container, message_id: str) -> None:
    """Deliver one outbox message through the configured mail transport."""
    from mas.core.platform.messages import OutboxStatus

    status = await c.delivery.deliver(uuid.UUID(message_id))
    if status is OutboxStatus.DEAD:
        raise PermanentFailure(f"the transport refused message {message_id}")


@task("comms.dispatch_outbox", attempts=1, timeout_s=120)
async def dispatch_outbox(c: Container) -> None:
    """Sweep: hand messages whose send run was lost (or that waited for config) to the send task."""
    for message_id, key in await c.delivery.undelivered():
        await c.jobs.enqueue("comms.send_email", {"message_id": str(message_id)}, key=key)


@task("events.relay_outbox", attempts=1, timeout_s=120)
async def relay_outbox(c: Container) -> None:
    """Sweep: publish events a crash left unpublished after their commit."""
    await c.relay.publish_events()


@task("jobs.reap_stuck", attempts=1, timeout_s=120)
async def reap_stuck(c: Container) -> None:
    """Runs whose worker vanished count as a failed attempt and are retried."""
    await c.jobs.reap_stuck()


@task("platform.noop", attempts=1, timeout_s=30)
async def noop(c: Container) -> None:
    """Does nothing: proves a worker is consuming (``mas jobs ping``) and feeds the benchmark."""


@task("auth.purge_expired", attempts=1, timeout_s=300)
async def purge_expired(c: Container) -> None:
    """Delete one-time codes older than a day and refresh tokens expired for 30 days."""
    await c.auth.purge_expired()
