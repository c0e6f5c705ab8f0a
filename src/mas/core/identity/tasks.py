"""Identity's tasks."""

from __future__ import annotations

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

PURGE_EXPIRED = Task("auth.purge_expired", NoArgs, TaskPolicy(attempts=1, timeout_s=300))

CRONS: dict[Task[NoArgs], str] = {PURGE_EXPIRED: "0 3 * * *"}
