"""The reports part's tasks: building an export (on demand) and expiring old ones (daily).

``finance.build_export`` is keyed by the export id (one run per export); a failure is retried
by the policy and, after the last attempt, the export is marked FAILED and its sealed password
wiped (``on_dead``, in ``handlers``). ``finance.expire_exports`` is a predicate sweep: running
it twice changes nothing the first run did not.
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy


class ExportRef(msgspec.Struct, frozen=True):
    export_id: uuid.UUID


BUILD_EXPORT = Task(
    "finance.build_export",
    ExportRef,
    TaskPolicy(attempts=3, backoff_s=60, timeout_s=900),
    key=lambda ref: str(ref.export_id),
)
EXPIRE_EXPORTS = Task("finance.expire_exports", NoArgs, TaskPolicy(attempts=2, timeout_s=900))
