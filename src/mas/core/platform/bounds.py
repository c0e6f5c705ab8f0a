"""Bounded building blocks for request Structs: every string and number a client sends has a
limit (``tests/http/test_hostile_input.py`` walks every route's body type and fails on one that
has none)."""

from __future__ import annotations

from typing import Annotated

import msgspec

SAFE_INT = 2**53
"""The largest integer every JSON reader holds exactly."""

MapKey = Annotated[str, msgspec.Meta(max_length=100)]
Scalar = (
    Annotated[str, msgspec.Meta(max_length=2000)]
    | Annotated[int, msgspec.Meta(ge=-SAFE_INT, le=SAFE_INT)]
    | Annotated[float, msgspec.Meta(ge=-SAFE_INT, le=SAFE_INT)]
    | bool
    | None
)
ScalarMap = Annotated[dict[MapKey, Scalar], msgspec.Meta(max_length=100)]
"""Free-form name → scalar pairs (task arguments, a vendor's extra columns)."""
