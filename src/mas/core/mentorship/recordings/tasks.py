"""The recordings part's cron (mentorship.md §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.mentorship.recordings import RecordingServices

RECORDING_PURGE = Task("mentorship.recording_purge", NoArgs, TaskPolicy(attempts=3))


async def recording_purge(recordings: RecordingServices, _: NoArgs) -> None:
    """Idempotent: a purged row is marked, a failed upload moved by compare-and-set, and
    storage takes a second delete or abort as done."""
    await recordings.purge.run()
