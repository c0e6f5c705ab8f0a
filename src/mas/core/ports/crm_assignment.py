"""Persistence port of the CRM (assignment)."""

from __future__ import annotations

from typing import Protocol


class AssignmentRepository(Protocol):
    """Filled in with the assignment use cases."""
