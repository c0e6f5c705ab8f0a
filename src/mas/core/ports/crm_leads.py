"""Persistence port of the CRM (leads)."""

from __future__ import annotations

from typing import Protocol


class LeadRepository(Protocol):
    """Filled in with the leads use cases."""
