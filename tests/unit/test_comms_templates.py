"""The email template engine: ``{{ name }}`` only, checked at save time, escaped in HTML."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from mas.adapters.comms.templates import JinjaTemplateEngine
from mas.core.comms.ports.templates import (
    MAX_SOURCE_BYTES,
    MAX_VARIABLES,
    TemplateEngine,
    check_single_line,
    check_variable_names,
)
from mas.core.platform.errors import ValidationFailed

FIELD = "body_html"


@pytest.fixture
def engine() -> JinjaTemplateEngine:
    return JinjaTemplateEngine()


def check_errors(
    engine: JinjaTemplateEngine, source: str, declared: frozenset[str] = frozenset({"name"})
) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        engine.check(source, declared, field=FIELD)
    assert {error.field for error in caught.value.errors} == {FIELD}
    return [error.message for error in caught.value.errors]


def test_the_adapter_is_a_template_engine(engine: JinjaTemplateEngine) -> None:
    assert isinstance(engine, TemplateEngine)


def test_a_template_using_only_declared_variables_passes(engine: JinjaTemplateEngine) -> None:
    source = "<p>Hi {{ name }}, {{course}} {# note #}{% raw %}{{ x }}{% endraw %}</p>"
    engine.check(source, frozenset({"name", "course"}), field=FIELD)
    assert engine.render_html(source, {"name": "A", "course": "B"}) == "<p>Hi A, B {{ x }}</p>"


def test_an_undeclared_variable_is_named(engine: JinjaTemplateEngine) -> None:
    messages = check_errors(engine, "Hi {{ name }}, welcome to {{course}}")
    assert len(messages) == 1
    assert "'course'" in messages[0]


def test_every_undeclared_variable_is_named(engine: JinjaTemplateEngine) -> None:
    messages = check_errors(engine, "{{ zeta }} {{ name }} {{ alpha }} {{ zeta }}")
    assert [m.split("'")[1] for m in messages] == ["alpha", "zeta"]


def test_a_syntax_error_names_its_line(engine: JinjaTemplateEngine) -> None:
    messages = check_errors(engine, "line one\nline two\nHi {{ name ")
    assert len(messages) == 1
    assert messages[0].startswith("line 3:")


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("{% if name %}x{% endif %}", "conditions"),
        ("{% for c in name %}{{ c }}{% endfor %}", "loops"),
        ("{{ name | upper }}", "filters"),
        ("{{ name.title }}", "attribute access"),
        ("{{ name['a'] }}", "item access"),
        ("{{ name() }}", "calls"),
        ("{% include 'other.html' %}", "include"),
        ("{% extends 'base.html' %}", "extends"),
        ("{% set name = 'x' %}", "set"),
        ("{% macro m() %}x{% endmacro %}", "macro"),
        ("{% import 'x' as x %}", "import"),
        ("{{ name is defined }}", "tests"),
        ("{{ 'literal' }}", "literal values"),
        ("{{ name ~ name }}", "'Concat' expressions"),
        ("{{ self }}", "reserved"),
    ],
)
def test_every_construct_but_a_plain_variable_is_refused(
    engine: JinjaTemplateEngine, source: str, kind: str
) -> None:
    messages = check_errors(engine, f"ok\n{source}")
    assert any(kind in message and message.startswith("line 2:") for message in messages)
    with pytest.raises(ValidationFailed):
        engine.render_html(source, {"name": "x", "self": "x"})


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ config.items() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
    ],
)
def test_template_injection_payloads_are_refused_at_check_time(
    engine: JinjaTemplateEngine, payload: str
) -> None:
    messages = check_errors(engine, payload, frozenset({"cycler", "config", "lipsum"}))
    assert any("not allowed" in message for message in messages)


def test_undeclared_names_and_constructs_are_reported_together(
    engine: JinjaTemplateEngine,
) -> None:
    messages = check_errors(engine, "{{ course }}\n{% if name %}{% endif %}")
    assert len(messages) == 2


def test_declared_names_must_be_usable(engine: JinjaTemplateEngine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        engine.check("x", frozenset({"first-name", "self", "ok"}), field=FIELD)
    assert [error.field for error in caught.value.errors] == ["variables", "variables"]
    with pytest.raises(ValidationFailed):
        check_variable_names([f"v{i}" for i in range(MAX_VARIABLES + 1)])
    check_variable_names(["firstName", "_x", "course_2"])


def test_html_escapes_values_and_text_keeps_them(engine: JinjaTemplateEngine) -> None:
    payload = "<script>alert('x')</script>&\""
    html = engine.render_html("<p>Hi {{ name }}</p>", {"name": payload})
    assert html == "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;</p>"
    assert engine.render_text("Hi {{ name }}", {"name": payload}) == f"Hi {payload}"


def test_a_markup_value_is_still_escaped(engine: JinjaTemplateEngine) -> None:
    assert engine.render_html("{{ name }}", {"name": Markup("<b>")}) == "&lt;b&gt;"


def test_missing_data_is_refused_naming_each_variable(engine: JinjaTemplateEngine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        engine.render_text("{{ b }} {{ a }} {{ c }}", {"c": "", "unused": "x"})
    assert [error.field for error in caught.value.errors] == ["data.a", "data.b"]
    assert engine.render_text("[{{ c }}]", {"c": "", "unused": "x"}) == "[]"


def test_a_subject_with_a_line_break_is_refused(engine: JinjaTemplateEngine) -> None:
    assert engine.render_subject("Welcome {{ name }}", {"name": "Asha"}) == "Welcome Asha"
    for value in ("Asha\r\nBcc: all@example.com", "Asha\nX", "Asha\rX", "A\u2028B", "A\x00"):
        with pytest.raises(ValidationFailed) as caught:
            engine.render_subject("Welcome {{ name }}", {"name": value})
        assert caught.value.errors[0].field == "subject"
    with pytest.raises(ValidationFailed):
        check_single_line("Two\nlines")


def test_a_large_template_within_bounds_renders(engine: JinjaTemplateEngine) -> None:
    chunk = "<p>Dear {{ name }}, about {{ course }}: lorem ipsum dolor sit amet.</p>\n"
    source = chunk * (MAX_SOURCE_BYTES // len(chunk) - 1)
    engine.check(source, frozenset({"name", "course"}), field=FIELD)
    html = engine.render_html(source, {"name": "A&B", "course": "Drones"})
    assert html.count("A&amp;B") == source.count("{{ name }}")
    assert engine.render_html(source, {"name": "C", "course": "D"}).count("Dear C,") > 1000


def test_an_oversized_template_is_refused(engine: JinjaTemplateEngine) -> None:
    messages = check_errors(engine, "x" * (MAX_SOURCE_BYTES + 1))
    assert "at most" in messages[0]


def test_values_that_would_blow_up_the_output_are_refused(engine: JinjaTemplateEngine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        engine.render_text("{{ a }}" * 1000, {"a": "x" * 10_000})
    assert caught.value.errors[0].field == "data"


def test_variables_lists_the_names_used(engine: JinjaTemplateEngine) -> None:
    assert engine.variables("Hi {{ name }} {{name}} {{ course }}!") == {"name", "course"}
    assert engine.variables("no holes") == frozenset()
    with pytest.raises(ValidationFailed):
        engine.variables("{{ name.attr }}")


def test_parsed_templates_are_cached_and_bounded() -> None:
    engine = JinjaTemplateEngine(cache_size=2)
    first = engine._parsed("{{ a }}", html=True)
    assert engine._parsed("{{ a }}", html=True) is first
    engine._parsed("{{ b }}", html=True)
    engine._parsed("{{ c }}", html=True)
    assert len(engine._cache) == 2
    assert engine._parsed("{{ a }}", html=True) is not first
