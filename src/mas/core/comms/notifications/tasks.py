"""The notifications part's task: a broadcast's fan-out."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.platform.tasking import Task, TaskPolicy


class BroadcastRef(msgspec.Struct, frozen=True):
    broadcast_id: uuid.UUID


FAN_OUT = Task(
    "comms.notify.broadcast",
    BroadcastRef,
    TaskPolicy(attempts=5, backoff_s=30, timeout_s=900),
    key=lambda ref: f"broadcast:{ref.broadcast_id}",
)
"""Delayed to the broadcast's ``scheduled_at``; resumable (progress is committed per chunk)."""
