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
DISPATCH_OUTBOX = Task("comms.dispatch_outbox", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
RELAY_OUTBOX = Task("events.relay_outbox", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
REAP_STUCK = Task("jobs.reap_stuck", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
NOOP = Task("platform.noop", NoArgs, TaskPolicy(attempts=1, timeout_s=30))

CRONS: dict[Task[NoArgs], str] = {
    DISPATCH_OUTBOX: "* * * * *",
    RELAY_OUTBOX: "* * * * *",
    REAP_STUCK: "*/5 * * * *",
}
