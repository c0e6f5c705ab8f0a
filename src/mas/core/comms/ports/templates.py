"""The template engine of editable email templates (communications.md §3, §5).

A template is text with ``{{ name }}`` holes and nothing else: no conditions, loops, filters,
attribute or item access, calls, includes. Sales staff edit these templates, so the engine is a
sandbox whose only power is to look up a declared variable. ``check`` runs when a template is
saved and names every problem at once (unknown variables, the syntax error with its line, each
refused construct); rendering checks again, because a row may predate a rule.

Missing data is refused, not rendered as an empty string: "Dear ," mailed to a lead is a silent
wrong message, and the spec asks for a 422 listing the names (§5, the preview route). A caller
that means "empty" passes ``""``. Data keys the template does not use are ignored.

Values are plain strings. ``render_html`` escapes them (the template's own markup is trusted, it
was written by staff); ``render_text`` does not (text parts); ``render_subject`` is
``render_text`` that refuses line breaks and control characters, which would let a value forge
mail headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from mas.core.platform.errors import FieldError, ValidationFailed

MAX_SOURCE_BYTES = 200 * 1024
"""A template source's UTF-8 size (the spec bounds ``body_html`` at 200 KB)."""
MAX_VARIABLES = 100
"""Declared variables of one template, and distinct variables one source may use."""
MAX_RENDERED_CHARS = 2_000_000
"""A rendered result; refused before rendering when the data would make it larger."""
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESERVED_NAMES = frozenset({"self", "loop", "super", "caller", "varargs", "kwargs"})
"""Names the template library resolves itself whatever the data says."""


def check_variable_names(names: Iterable[str], *, field: str = "variables") -> None:
    """Refuse a declared variable list that is too long or holds a name ``{{ }}`` cannot use."""
    names = list(names)
    errors: list[FieldError] = []
    if len(names) > MAX_VARIABLES:
        errors.append(FieldError(field, f"at most {MAX_VARIABLES} variables"))
    for name in names:
        if not VARIABLE_NAME.fullmatch(name):
            errors.append(
                FieldError(
                    field,
                    f"'{name[:70]}' is not a variable name (letters, digits and '_', "
                    "not starting with a digit, at most 64 characters)",
                )
            )
        elif name in RESERVED_NAMES:
            errors.append(FieldError(field, f"'{name}' is reserved by the template engine"))
    if errors:
        raise ValidationFailed("Invalid template variables", errors=errors)


def check_single_line(text: str, *, field: str = "subject") -> None:
    """Refuse line breaks and control characters in a rendered header value."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if _is_forbidden_in_header(ch)})
    if bad:
        raise ValidationFailed(
            "A mail header cannot hold line breaks or control characters",
            errors=[FieldError(field, f"contains {', '.join(bad)}")],
        )


def _is_forbidden_in_header(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or ch in "\u2028\u2029"


@runtime_checkable
class TemplateEngine(Protocol):
    def check(self, source: str, declared: frozenset[str], *, field: str) -> None:
        """``ValidationFailed`` naming, under ``field``, every variable used but not declared,
        the syntax error with its line, and each construct other than ``{{ name }}``."""
        ...

    def variables(self, source: str) -> frozenset[str]:
        """The variables ``source`` uses (``ValidationFailed`` if it is not a valid template)."""
        ...

    def render_html(self, source: str, data: Mapping[str, str]) -> str:
        """The source with each ``{{ name }}`` replaced by the HTML-escaped value."""
        ...

    def render_text(self, source: str, data: Mapping[str, str]) -> str:
        """The source with each ``{{ name }}`` replaced by the value as is."""
        ...

    def render_subject(self, source: str, data: Mapping[str, str]) -> str:
        """``render_text`` refusing a result with line breaks or control characters."""
        ...
