"""``TemplateEngine`` on jinja2's sandbox, cut down to ``{{ name }}``.

Jinja parses; we walk the parsed tree and accept only literal text and plain variable lookups
(``Output`` of ``TemplateData`` and ``Name``). Everything else is refused before anything runs:
``{% if %}``, ``{% for %}``, ``{% set %}``, macros, includes, filters, tests, attribute and item
access, calls, constants and operators. That closes the usual server-side template injection
routes (``{{ ''.__class__ }}``, ``{{ cycler.__init__.__globals__ }}``) by construction; the
``SandboxedEnvironment`` with no globals, ``StrictUndefined`` and HTML autoescape are the second
wall. Comments (``{# … #}``) and ``{% raw %}`` are allowed: they produce nothing or literal text.

Parsing and compiling cost far more than rendering, so a checked template is kept in a bounded
LRU keyed by its source's SHA-256 (one per escaping mode).

jinja2 is imported on the first check or render, not with the module: every process builds the
mail services, and most (each CLI command) never render a template (~12 ms of their start-up).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import escape

from mas.core.comms.ports.templates import (
    MAX_RENDERED_CHARS,
    MAX_SOURCE_BYTES,
    MAX_VARIABLES,
    RESERVED_NAMES,
    check_single_line,
    check_variable_names,
)
from mas.core.platform.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from jinja2 import Template, nodes
    from jinja2.sandbox import SandboxedEnvironment

CACHE_SIZE = 512
MAX_REPORTED_CONSTRUCTS = 20


@functools.cache
def _descriptions() -> dict[type[nodes.Node], str]:
    from jinja2 import nodes

    return {
        nodes.If: "conditions ({% if %})",
        nodes.For: "loops ({% for %})",
        nodes.Filter: "filters (|)",
        nodes.Test: "tests (is)",
        nodes.Getattr: "attribute access (.)",
        nodes.Getitem: "item access ([])",
        nodes.Call: "calls (())",
        nodes.Include: "{% include %}",
        nodes.Extends: "{% extends %}",
        nodes.Import: "{% import %}",
        nodes.FromImport: "{% from … import %}",
        nodes.Assign: "{% set %}",
        nodes.AssignBlock: "{% set %}",
        nodes.Macro: "{% macro %}",
        nodes.CallBlock: "{% call %}",
        nodes.Block: "{% block %}",
        nodes.Const: "literal values",
    }


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A template that passed the structure rules, with its compiled form."""

    template: Template
    uses: Counter[str]
    static_chars: int

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(self.uses)


class JinjaTemplateEngine:
    def __init__(self, *, cache_size: int = CACHE_SIZE) -> None:
        self._environments: dict[bool, SandboxedEnvironment] = {}
        self._cache: OrderedDict[tuple[bool, bytes], _Parsed] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _environment(self, *, html: bool) -> SandboxedEnvironment:
        """The sandbox for one escaping mode, made on first use (with it, jinja2 is imported)."""
        environment = self._environments.get(html)
        if environment is None:
            with self._lock:
                environment = self._environments.get(html)
                if environment is None:
                    environment = self._environments[html] = _environment(autoescape=html)
        return environment

    def check(self, source: str, declared: frozenset[str], *, field: str) -> None:
        from jinja2 import nodes

        check_variable_names(sorted(declared))
        body = self._parse_tree(source, field)
        errors = _structure_errors(body, field)
        used = {node.name for node in body.find_all(nodes.Name)}
        errors += [
            FieldError(field, f"unknown variable '{name}': declare it or remove it")
            for name in sorted(used - declared)
        ]
        if errors:
            raise ValidationFailed("The template cannot be saved as written", errors=errors)

    def variables(self, source: str) -> frozenset[str]:
        return self._parsed(source, html=False).variables

    def render_html(self, source: str, data: Mapping[str, str]) -> str:
        return self._render(source, data, html=True)

    def render_text(self, source: str, data: Mapping[str, str]) -> str:
        return self._render(source, data, html=False)

    def render_subject(self, source: str, data: Mapping[str, str]) -> str:
        subject = self._render(source, data, html=False)
        check_single_line(subject)
        return subject

    def _render(self, source: str, data: Mapping[str, str], *, html: bool) -> str:
        parsed = self._parsed(source, html=html)
        missing = sorted(parsed.variables - data.keys())
        if missing:
            raise ValidationFailed(
                f"No value given for: {', '.join(missing)}",
                errors=[FieldError(f"data.{name}", "value required") for name in missing],
            )
        # str() drops any str subclass (markupsafe.Markup would skip escaping).
        values = {name: str(data[name]) for name in parsed.variables}
        size = parsed.static_chars + sum(
            count * len(escape(values[name]) if html else values[name])
            for name, count in parsed.uses.items()
        )
        if size > MAX_RENDERED_CHARS:
            raise ValidationFailed(
                f"The rendered template would exceed {MAX_RENDERED_CHARS} characters",
                errors=[FieldError("data", "values too long for this template")],
            )
        return parsed.template.render(values)

    def _parsed(self, source: str, *, html: bool) -> _Parsed:
        from jinja2 import nodes

        key = (html, hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest())
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        body = self._parse_tree(source, "template")
        errors = _structure_errors(body, "template")
        if errors:
            raise ValidationFailed(
                "The template uses constructs that are not allowed", errors=errors
            )
        uses = Counter(node.name for node in body.find_all(nodes.Name))
        static = sum(len(node.data) for node in body.find_all(nodes.TemplateData))
        parsed = _Parsed(self._environment(html=html).from_string(body), uses, static)
        with self._lock:
            self._cache[key] = parsed
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return parsed

    def _parse_tree(self, source: str, field: str) -> nodes.Template:
        from jinja2 import TemplateSyntaxError

        if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
            raise ValidationFailed(
                "The template is too long",
                errors=[FieldError(field, f"at most {MAX_SOURCE_BYTES} bytes")],
            )
        try:
            return self._environment(html=False).parse(source)
        except TemplateSyntaxError as error:
            raise ValidationFailed(
                "The template has a syntax error",
                errors=[FieldError(field, f"line {error.lineno}: {error.message}")],
            ) from error


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(
        autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True
    )
    environment.globals.clear()
    return environment


def _structure_errors(body: nodes.Template, field: str) -> list[FieldError]:
    """One error per refused construct (first ``MAX_REPORTED_CONSTRUCTS``), with its line."""
    from jinja2 import nodes

    errors: list[FieldError] = []
    names: set[str] = set()
    for statement in body.body:
        if not isinstance(statement, nodes.Output):
            errors.append(_refused(statement, field))
            continue
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                continue
            if isinstance(node, nodes.Name) and node.ctx == "load":
                if node.name in RESERVED_NAMES:
                    errors.append(
                        FieldError(field, f"line {node.lineno}: '{node.name}' is reserved")
                    )
                names.add(node.name)
                continue
            errors.append(_refused(node, field))
    if len(names) > MAX_VARIABLES:
        errors.append(FieldError(field, f"at most {MAX_VARIABLES} distinct variables"))
    return errors[:MAX_REPORTED_CONSTRUCTS]


def _refused(node: nodes.Node, field: str) -> FieldError:
    kind = next(
        (text for cls, text in _descriptions().items() if isinstance(node, cls)),
        f"'{type(node).__name__}' expressions",
    )
    return FieldError(field, f"line {node.lineno}: {kind} not allowed; only {{{{ variable }}}} is")
