"""The identity emails, branded by platform: code templates for the messenger.

Declared in identity's manifest (``mail_templates=MAIL_TEMPLATES``); the services send them with
``messenger.email(uow, template=..., to=..., data=..., key=...)``. Each template reads its data
by name (a missing name is the sender's 422); ``platform`` is a ``Platform`` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mas.core.identity.model import OtpPurpose
from mas.core.identity.policy import Platform
from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail

BRAND = {
    Platform.MY_ANALYTICS_SCHOOL: "My Analytics School",
    Platform.MR_MENTOR: "Mr. Mentor",
    Platform.MR_HIRE: "Mr. Hire",
}
ACCOUNT_CREATED = "auth.account_created"
ALERT = "auth.alert"


def otp_template(purpose: OtpPurpose) -> str:
    return f"auth.{purpose.value.lower()}_otp"


def _otp(purpose: OtpPurpose) -> MailTemplate:
    what = "verify your email" if purpose is OtpPurpose.SIGNUP else "reset your password"

    def otp_email(data: Mapping[str, Any]) -> RenderedEmail:
        brand = BRAND[Platform(data["platform"])]
        code = data["code"]
        return RenderedEmail(
            subject=f"{brand}: your code is {code}",
            text=(
                f"Use {code} to {what} on {brand}. It expires in {data['minutes']} minutes.\n"
                "If you did not ask for it, ignore this email."
            ),
        )

    return otp_email


def credentials_email(data: Mapping[str, Any]) -> RenderedEmail:
    brand = BRAND[Platform(data["platform"])]
    return RenderedEmail(
        subject=f"Your {brand} account",
        text=(
            f"An administrator created a {data['role']} account for you on {brand}.\n"
            f"Email: {data['email']}\nTemporary password: {data['password']}\n"
            "Sign in and change the password."
        ),
    )


def alert_email(data: Mapping[str, Any]) -> RenderedEmail:
    return RenderedEmail(subject=str(data["subject"]), text=str(data["body"]))


MAIL_TEMPLATES: dict[str, MailTemplate] = {
    **{otp_template(purpose): _otp(purpose) for purpose in OtpPurpose},
    ACCOUNT_CREATED: credentials_email,
    ALERT: alert_email,
}
