"""Bounded building blocks for request Structs: every string and number a client sends has a
limit (``tests/http/test_hostile_input.py`` walks every route's body type and fails on one that
has none)."""

from __future__ import annotations

from typing import Annotated

import msgspec

SAFE_INT = 2**53
"""The largest integer every JSON reader holds exactly."""

MAX_MAP_KEY = 100
MAX_SCALAR_TEXT = 2000
MAX_MAP_SIZE = 100

MapKey = Annotated[str, msgspec.Meta(max_length=MAX_MAP_KEY)]
Scalar = (
    Annotated[str, msgspec.Meta(max_length=MAX_SCALAR_TEXT)]
    | Annotated[int, msgspec.Meta(ge=-SAFE_INT, le=SAFE_INT)]
    | Annotated[float, msgspec.Meta(ge=-SAFE_INT, le=SAFE_INT)]
    | bool
    | None
)


def schema_extra(**keywords: object) -> dict[str, object]:
    """``Meta(extra_json_schema=...)`` that both msgspec's JSON schema and the OpenAPI document
    show. Litestar reads only the ``extra`` member of ``extra_json_schema``, keyed by the field
    names of its ``Schema`` (``format``, ``enum``, ``items``, ``additional_properties``…);
    msgspec reads the top level, keyed as JSON Schema is (``additionalProperties``). Nested
    values are JSON Schema as written."""

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    return {**{camel(name): value for name, value in keywords.items()}, "extra": dict(keywords)}


ScalarMap = Annotated[
    dict[MapKey, Scalar],
    msgspec.Meta(
        max_length=MAX_MAP_SIZE,
        # Stated in full: Litestar renders the union as ``oneOf``, which an integer (both an
        # ``integer`` and a ``number``) fails, and drops the bounds of the keys and the values.
        extra_json_schema=schema_extra(
            max_properties=MAX_MAP_SIZE,
            property_names={"type": "string", "maxLength": MAX_MAP_KEY},
            additional_properties={
                "anyOf": [
                    {"type": "string", "maxLength": MAX_SCALAR_TEXT},
                    {"type": "number", "minimum": -SAFE_INT, "maximum": SAFE_INT},
                    {"type": "boolean"},
                    {"type": "null"},
                ]
            },
        ),
    ),
]
"""Free-form name → scalar pairs (task arguments, a vendor's extra columns)."""


MAX_EMAIL = 254
"""RFC 5321's path limit less the angle brackets: the longest address email-validator takes."""

EmailAddress = Annotated[
    str,
    msgspec.Meta(
        min_length=3, max_length=MAX_EMAIL, extra_json_schema=schema_extra(format="email")
    ),
]
"""An e-mail address the server checks in full (identity's ``check_email``): documented
``format: email``."""
