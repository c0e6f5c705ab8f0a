"""The platform's own tasks: outbox delivery and relay, ledger upkeep, a no-op probe."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy


class MessageRef(msgspec.Struct, frozen=True):
    message_id: uuid.UUID


# 30 s bounds one attempt (an SMTP exchange is a few commands of ``smtp_timeout_ms`` each, 8 s by
# default), and so how long a send held by a worker that died waits before another takes it.
SEND_EMAIL = Task(
    "comms.send_email",
    MessageRef,
    TaskPolicy(attempts=5, backoff_s=30, timeout_s=30),
    key=lambda m: str(m.message_id),
)


class MessageBatch(msgspec.Struct, frozen=True):
    """The messages one unit of work queued (in order)."""

    message_ids: list[uuid.UUID]


SEND_EMAILS = Task(
    "comms.send_emails",
    MessageBatch,
    TaskPolicy(attempts=5, backoff_s=30, timeout_s=300),
    key=lambda m: f"batch:{m.message_ids[0]}",
)
"""One unit of work's messages, delivered one after the other by one run (a workflow batch
queues dozens at once: one ledger job each would cost more than the sends). A message that
fails goes on alone as ``comms.send_email``, with that task's retries."""
DISPATCH_OUTBOX = Task("comms.dispatch_outbox", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
RELAY_OUTBOX = Task("events.relay_outbox", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
REAP_STUCK = Task("jobs.reap_stuck", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
NOOP = Task("platform.noop", NoArgs, TaskPolicy(attempts=1, timeout_s=30))

CRONS: dict[Task[NoArgs], str] = {
    DISPATCH_OUTBOX: "* * * * *",
    RELAY_OUTBOX: "* * * * *",
    REAP_STUCK: "*/5 * * * *",
}
