"""The meetings part's system mails (code templates, ``MAIL_TEMPLATES`` of its manifest)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail

BOOKING_REQUEST = "mentorship.booking_request"
AVAILABILITY_REQUEST = "mentorship.availability_request"
MEETING_UPDATE = "mentorship.meeting_update"
CANCELLATION_NOTICE = "mentorship.cancellation_notice"

STATUS_WORDS = {
    "confirmed": "is confirmed",
    "rejected": "was declined by the mentor; your token is back in your wallet",
    "cancelled": "is cancelled; any token it held is back in the student's wallet",
    "expired": "expired without taking place",
}


def booking_request(data: Mapping[str, Any]) -> RenderedEmail:
    student, when = str(data["student_name"]), str(data["start"])
    approve, reject = str(data["approve_url"]), str(data["reject_url"])
    note = str(data.get("note") or "")
    lines = [
        f"{student} asked for your slot on {when}.",
        *([f"Topic: {note}"] if note else []),
        f"Approve: {approve}",
        f"Reject: {reject}",
        "Each link works once, until the slot starts.",
    ]
    html = (
        f"<p>{escape(student)} asked for your slot on {escape(when)}.</p>"
        + (f"<p>Topic: {escape(note)}</p>" if note else "")
        + f'<p><a href="{escape(approve)}">Approve</a> · <a href="{escape(reject)}">Reject</a></p>'
    )
    return RenderedEmail(
        subject=f"Meeting request from {student}", text="\n".join(lines), html=html
    )


def availability_request(data: Mapping[str, Any]) -> RenderedEmail:
    student, day = str(data["student_name"]), str(data["preferred_date"])
    note = str(data.get("note") or "")
    text = f"{student} would like to meet you around {day}. Publish a few slots in the app."
    if note:
        text += f"\nNote: {note}"
    html = f"<p>{escape(student)} would like to meet you around {escape(day)}.</p>" + (
        f"<p>Note: {escape(note)}</p>" if note else ""
    )
    return RenderedEmail(subject=f"{student} asks for your availability", text=text, html=html)


def meeting_update(data: Mapping[str, Any]) -> RenderedEmail:
    status, when = str(data["status"]), str(data["start"])
    words = STATUS_WORDS.get(status, f"is now {status}")
    text = f"Your meeting on {when} {words}."
    return RenderedEmail(subject=f"Meeting {status}", text=text, html=f"<p>{escape(text)}</p>")


def cancellation_notice(data: Mapping[str, Any]) -> RenderedEmail:
    student, when = str(data["student_name"]), str(data["start"])
    reason = str(data.get("reason") or "")
    text = f"{student} asks to cancel the meeting on {when}. Approve or decline it in the app."
    if reason:
        text += f"\nReason: {reason}"
    return RenderedEmail(
        subject=f"Cancellation requested by {student}", text=text, html=f"<p>{escape(text)}</p>"
    )


MAIL_TEMPLATES: dict[str, MailTemplate] = {
    MEETING_UPDATE: meeting_update,
    CANCELLATION_NOTICE: cancellation_notice,
    BOOKING_REQUEST: booking_request,
    AVAILABILITY_REQUEST: availability_request,
}
