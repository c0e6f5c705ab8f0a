"""Persistence port of the CRM (imports)."""

from __future__ import annotations

from typing import Protocol


class ImportRepository(Protocol):
    """Filled in with the imports use cases."""
