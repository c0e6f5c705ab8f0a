"""Placeholders in message text (workflow.md §4): ``{{lead.name}}`` and the few others a send
node may use. The set is closed so that publishing rejects a typo (``{{lead.nmae}}``) instead of
sending it to a lead verbatim."""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDERS: frozenset[str] = frozenset(
    {"lead.name", "lead.first_name", "lead.course_interest", "owner.name", "owner.phone"}
)

_PATTERN = re.compile(r"\{\{\s*([^{}]{0,100}?)\s*\}\}")


def names(text: str) -> list[str]:
    """Every placeholder name in ``text``, in order (spaces inside the braces ignored)."""
    return [match.group(1) for match in _PATTERN.finditer(text)]


def unknown(text: str) -> list[str]:
    """The placeholder names in ``text`` that are not in ``PLACEHOLDERS``, each once."""
    seen: list[str] = []
    for name in names(text):
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return seen


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace each known placeholder by its value ("" when the value is missing); publish-time
    validation guarantees there is no unknown one, which is left as written."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        return values.get(name, "")

    return _PATTERN.sub(fill, text)
