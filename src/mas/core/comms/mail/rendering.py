"""A database template rendered with a sender's data: subject, HTML, and the text part.

The text part is the template's ``body_text`` when it has one, else derived from the rendered
HTML: tags dropped, block elements and ``<br>`` as line breaks, entities decoded, ``<a href>``
kept as "text (url)", ``<script>``/``<style>`` dropped. Pure standard library.

Errors carry codes the routes declare: ``missing_variables`` (data lacks a value the template
uses; every name listed) and ``template_unrenderable`` (a stored source the engine now refuses,
a subject value with a line break, a result too large).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from mas.core.comms.mail.model import EmailTemplate, Preview
from mas.core.comms.ports.templates import TemplateEngine
from mas.core.platform.errors import FieldError, ValidationFailed

_BLOCKS = frozenset(
    {"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section"}
)
_SKIPPED = frozenset({"script", "style", "head", "title"})


def render(engine: TemplateEngine, template: EmailTemplate, data: Mapping[str, Any]) -> Preview:
    values = {name: "" if value is None else str(value) for name, value in data.items()}
    sources = [template.subject, template.body_html]
    if template.body_text is not None:
        sources.append(template.body_text)
    try:
        used = frozenset().union(*(engine.variables(source) for source in sources))
    except ValidationFailed as refused:
        raise _unrenderable(refused) from None
    missing = sorted(used - values.keys())
    if missing:
        raise ValidationFailed(
            f"No value given for: {', '.join(missing)}",
            code="missing_variables",
            errors=[FieldError(f"data.{name}", "value required") for name in missing],
        )
    try:
        subject = engine.render_subject(template.subject, values)
        html = engine.render_html(template.body_html, values)
        text = (
            engine.render_text(template.body_text, values)
            if template.body_text is not None
            else text_of(html)
        )
    except ValidationFailed as refused:
        raise _unrenderable(refused) from None
    return Preview(subject=subject, html=html, text=text)


def _unrenderable(refused: ValidationFailed) -> ValidationFailed:
    return ValidationFailed(
        f"The template cannot be rendered: {refused.detail}",
        code="template_unrenderable",
        errors=refused.errors,
    )


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self._links:
            href = self._links.pop()
            if href and not href.startswith(("#", "mailto:", "javascript:")):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def text_of(html: str) -> str:
    """The readable text of an HTML body (the text part of a mail whose template has none)."""
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = [
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
