"""The mail writer and its rendering on the fakes: keys, recipients, refusals, derived text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from mas.adapters.comms.templates import JinjaTemplateEngine
from mas.adapters.fakes.platform import FakeClock, FakePlatformUnitOfWork, PlatformStore
from mas.adapters.identity.emails import EmailValidatorSyntax
from mas.core.comms.mail.model import EmailTemplate, OwnerScope, TemplateCategory
from mas.core.comms.mail.rendering import render, text_of
from mas.core.comms.mail.writer import MailWriter
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.ports.messenger import RenderedEmail

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def note(data: Any) -> RenderedEmail:
    return RenderedEmail(subject=f"Note for {data['name']}", text="body", html="<p>body</p>")


@pytest.fixture
def store() -> PlatformStore:
    return PlatformStore()


@pytest.fixture
def writer() -> MailWriter:
    return MailWriter(
        clock=FakeClock(NOW),
        templates={"test.note": note},
        engine=JinjaTemplateEngine(),
        addresses=EmailValidatorSyntax(),
    )


async def send(writer: MailWriter, store: PlatformStore, key: str, **fields: Any) -> uuid.UUID:
    fields = {"template": "test.note", "to": "a@example.com", "data": {"name": "Asha"}, **fields}
    async with FakePlatformUnitOfWork(store) as uow:
        kept = await writer.email(uow, key=key, **fields)
        await uow.commit()
    return kept


async def test_a_key_is_one_row_and_extra_recipients_get_derived_keys(
    writer: MailWriter, store: PlatformStore
) -> None:
    first = await send(writer, store, "note:1", to=["A@example.com", "b@example.com"])
    assert await send(writer, store, "note:1", to=["a@example.com", "b@example.com"]) == first
    rows = sorted(store.messages.values(), key=lambda m: m.idempotency_key or "")
    assert [(m.recipient, m.idempotency_key, m.subject) for m in rows] == [
        ("a@example.com", "note:1", "Note for Asha"),
        ("b@example.com", "note:1:2", "Note for Asha"),
    ]
    assert store.messages[first].recipient == "a@example.com"


@pytest.mark.parametrize(
    ("to", "field"),
    [
        ("no-at-sign", "to"),
        (["ok@example.com", "two words@example.com"], "to[1]"),
        (["ok@example.com", "x@localhost"], "to[1]"),
        ([], "to"),
        ([f"p{n}@example.com" for n in range(51)], "to"),
    ],
)
async def test_bad_recipients_are_refused_before_anything_is_written(
    writer: MailWriter, store: PlatformStore, to: Any, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await send(writer, store, "k", to=to)
    assert (refused.value.code, refused.value.errors[0].field) == ("invalid_address", field)
    assert store.messages == {}


async def test_missing_data_and_an_overlong_key_are_refused(
    writer: MailWriter, store: PlatformStore
) -> None:
    with pytest.raises(ValidationFailed) as missing:
        await send(writer, store, "k", data={})
    assert missing.value.code == "missing_variables"
    assert [e.field for e in missing.value.errors] == ["data.name"]
    with pytest.raises(ValidationFailed) as long_key:
        await send(writer, store, "k" * 199, to=["a@example.com", "b@example.com"])
    assert long_key.value.code == "invalid_key"
    assert store.messages == {}


def template(**fields: Any) -> EmailTemplate:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "key": "t",
        "name": "T",
        "subject": "Hi {{ name }}",
        "body_html": "<p>Hi {{ name }}</p>",
        "body_text": None,
        "variables": ["name"],
        "category": TemplateCategory.CRM,
        "owner_scope": OwnerScope.GLOBAL,
        "sales_head_id": None,
        "is_active": True,
        "created_by": None,
        "updated_by": None,
        "created_at": NOW,
        "updated_at": NOW,
        **fields,
    }
    return EmailTemplate(**values)


def test_rendering_escapes_values_and_refuses_a_subject_line_break() -> None:
    engine = JinjaTemplateEngine()
    shown = render(engine, template(), {"name": "<i>A</i>"})
    assert (shown.subject, shown.html, shown.text) == (
        "Hi <i>A</i>",
        "<p>Hi &lt;i&gt;A&lt;/i&gt;</p>",
        "Hi <i>A</i>",
    )
    with pytest.raises(ValidationFailed) as forged:
        render(engine, template(), {"name": "A\r\nBcc: x@example.com"})
    assert forged.value.code == "template_unrenderable"
    with pytest.raises(ValidationFailed) as stale:
        render(engine, template(body_html="{{ name.upper() }}"), {"name": "A"})
    assert stale.value.code == "template_unrenderable"


def test_the_text_part_derived_from_html() -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<h1>Welcome</h1><p>Line one<br>line   two &amp; more</p>"
        "<script>alert(1)</script><ul><li>a</li><li>b</li></ul>"
        "<p>See <a href='https://x.in/a'>the course</a> or <a href='#top'>top</a></p>"
        "</body></html>"
    )
    assert text_of(html) == (
        "Welcome\n\nLine one\nline two & more\n\na\n\nb\n\nSee the course (https://x.in/a) or top"
    )
