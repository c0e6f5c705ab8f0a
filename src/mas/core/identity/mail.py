"""The identity emails, branded by platform."""

from __future__ import annotations

from datetime import datetime

from mas.core.identity.model import OtpPurpose
from mas.core.identity.policy import Platform
from mas.core.platform.messages import OutboxMessage

BRAND = {
    Platform.MY_ANALYTICS_SCHOOL: "My Analytics School",
    Platform.MR_MENTOR: "Mr. Mentor",
    Platform.MR_HIRE: "Mr. Hire",
}


def otp_email(
    to: str, code: str, purpose: OtpPurpose, platform: Platform, minutes: int, now: datetime
) -> OutboxMessage:
    brand = BRAND[platform]
    what = "verify your email" if purpose is OtpPurpose.SIGNUP else "reset your password"
    return OutboxMessage.email(
        to=to,
        subject=f"{brand}: your code is {code}",
        body_text=(
            f"Use {code} to {what} on {brand}. It expires in {minutes} minutes.\n"
            "If you did not ask for it, ignore this email."
        ),
        now=now,
        template=f"auth.{purpose.value.lower()}_otp",
    )


def credentials_email(
    to: str, password: str, role: str, platform: Platform, now: datetime
) -> OutboxMessage:
    brand = BRAND[platform]
    return OutboxMessage.email(
        to=to,
        subject=f"Your {brand} account",
        body_text=(
            f"An administrator created a {role} account for you on {brand}.\n"
            f"Email: {to}\nTemporary password: {password}\n"
            "Sign in and change the password."
        ),
        now=now,
        template="auth.account_created",
    )


def alert_email(to: str, subject: str, body: str, now: datetime) -> OutboxMessage:
    return OutboxMessage.email(
        to=to, subject=subject, body_text=body, now=now, template="auth.alert"
    )
