"""The calendar part's system mail: the meeting reminder."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail

MEETING_REMINDER = "mentorship.meeting_reminder"

LEAD_WORDS = {"24h": "within a day", "15m": "in a few minutes"}


def reminder_text(data: Mapping[str, Any]) -> tuple[str, str]:
    """``(title, body)``, shared by the mail and the in-app notification."""
    soon, when = LEAD_WORDS.get(str(data["kind"]), "soon"), str(data["start"])
    other = str(data["with_name"])
    return f"Your meeting starts {soon}", f"Your meeting with {other} starts at {when}."


def meeting_reminder(data: Mapping[str, Any]) -> RenderedEmail:
    title, body = reminder_text(data)
    text = f"{body}\nJoin it from the app."
    return RenderedEmail(subject=title, text=text, html=f"<p>{escape(body)}</p>")


MAIL_TEMPLATES: dict[str, MailTemplate] = {MEETING_REMINDER: meeting_reminder}
