"""SmtpTransport against a real SMTP server (aiosmtpd on 127.0.0.1), and the local mailbox."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mas.adapters.messaging.local import LocalMailbox
from mas.adapters.messaging.smtp import SmtpTransport
from mas.core.platform.ports.mail import Envelope, TransportError

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SENDER = "MAS <no-reply@myanalyticsschool.com>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and refuses some recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


def authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"mailer", b"s3cret")
    return AuthResult(success=ok, handled=False)


def start(handler: Mailbox, **options: Any) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def server(mailbox: Mailbox) -> Iterator[Controller]:
    yield from start(mailbox)


@pytest.fixture
def auth_server(mailbox: Mailbox) -> Iterator[Controller]:
    yield from start(
        mailbox, authenticator=authenticate, auth_required=True, auth_require_tls=False
    )


def transport(
    port: int, user: str = "", password: str = "", timeout_s: float = 2.0
) -> SmtpTransport:
    return SmtpTransport(
        host="127.0.0.1",
        port=port,
        user=user,
        password=password,
        sender=SENDER,
        starttls=False,
        implicit_tls=False,
        timeout_s=timeout_s,
    )


def envelope(recipient: str = "asha@example.com", **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "message_id": "0193a2b4-7c1d-7e0f-8a9b-0c1d2e3f4a5b",
        "sender": "",
        "recipient": recipient,
        "subject": "Your mentorship session is confirmed",
        "body_text": "Hi Asha,\nYour session is on Monday at 10:00 IST.",
        "body_html": "<p>Hi Asha,<br>Your session is on <b>Monday</b> at 10:00 IST.</p>",
    }
    fields.update(changes)
    return Envelope(**fields)


async def test_delivers_text_and_html_with_a_stable_message_id(
    server: Controller, mailbox: Mailbox
) -> None:
    smtp = transport(server.port)
    assert smtp.name == "smtp" and smtp.configured
    await smtp.deliver(envelope())
    [(mail_from, rcpt_tos, message)] = mailbox.received
    assert mail_from == "no-reply@myanalyticsschool.com"
    assert rcpt_tos == ["asha@example.com"]
    assert message["From"] == SENDER
    assert message["To"] == "asha@example.com"
    assert message["Subject"] == "Your mentorship session is confirmed"
    assert message["Message-ID"] == "<0193a2b4-7c1d-7e0f-8a9b-0c1d2e3f4a5b@myanalyticsschool.com>"
    assert message["Date"]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    body = text.get_content().replace("\r\n", "\n").strip()
    assert body == "Hi Asha,\nYour session is on Monday at 10:00 IST."
    assert "<b>Monday</b>" in html.get_content()
    assert message.get_content_type() == "multipart/alternative"

    await smtp.deliver(envelope())  # a retry after an unclear failure
    assert mailbox.received[1][2]["Message-ID"] == message["Message-ID"]


async def test_text_only_mail_and_the_envelope_sender(server: Controller, mailbox: Mailbox) -> None:
    await transport(server.port).deliver(
        envelope("Ravi <ravi@example.com>", body_html=None, sender="Hire <hire@mrhire.in>")
    )
    [(mail_from, rcpt_tos, message)] = mailbox.received
    assert (mail_from, rcpt_tos) == ("hire@mrhire.in", ["ravi@example.com"])
    assert message["To"] == "Ravi <ravi@example.com>"
    assert message.get_content_type() == "text/plain"
    assert message["Message-ID"].endswith("@mrhire.in>")


async def test_refused_recipient_is_permanent(server: Controller, mailbox: Mailbox) -> None:
    with pytest.raises(TransportError, match="550") as caught:
        await transport(server.port).deliver(envelope("nobody@example.com"))
    assert caught.value.permanent is True
    assert mailbox.received == []


async def test_a_4xx_reply_is_temporary(server: Controller) -> None:
    with pytest.raises(TransportError, match="451") as caught:
        await transport(server.port).deliver(envelope("busy@example.com"))
    assert caught.value.permanent is False


async def test_authenticated_delivery(auth_server: Controller, mailbox: Mailbox) -> None:
    await transport(auth_server.port, "mailer", "s3cret").deliver(envelope())
    assert len(mailbox.received) == 1


async def test_wrong_password_is_permanent(auth_server: Controller, mailbox: Mailbox) -> None:
    with pytest.raises(TransportError, match="535") as caught:
        await transport(auth_server.port, "mailer", "wrong").deliver(envelope())
    assert caught.value.permanent is True
    assert mailbox.received == []


async def test_missing_login_where_auth_is_required_is_permanent(auth_server: Controller) -> None:
    with pytest.raises(TransportError, match="530") as caught:
        await transport(auth_server.port).deliver(envelope())
    assert caught.value.permanent is True


async def test_no_server_listening_is_temporary() -> None:
    with pytest.raises(TransportError) as caught:
        await transport(free_port()).deliver(envelope())
    assert caught.value.permanent is False
    assert isinstance(caught.value.__cause__, OSError)


async def test_a_silent_server_times_out_as_temporary() -> None:
    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # hold the connection open without a greeting
        writer.close()

    silent = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TransportError) as caught:
            await transport(port, timeout_s=0.1).deliver(envelope())
        assert caught.value.permanent is False
        assert asyncio.get_running_loop().time() - started < 2
    finally:
        silent.close()
        await silent.wait_closed()


@pytest.mark.parametrize(
    "bad", [envelope("not-an-address"), envelope(subject="Hi\r\nBcc: all@example.com")]
)
async def test_an_undeliverable_message_fails_before_connecting(bad: Envelope) -> None:
    with pytest.raises(TransportError) as caught:
        await transport(free_port()).deliver(bad)
    assert caught.value.permanent is True


def test_unconfigured_without_a_host() -> None:
    assert not SmtpTransport("", 587, "", "", SENDER, True, False, 8.0).configured


async def test_local_mailbox_accepts_addresses_and_refuses_the_rest() -> None:
    mailbox = LocalMailbox()
    assert mailbox.name == "local" and mailbox.configured
    await mailbox.deliver(envelope("asha@example.com"))
    await mailbox.deliver(envelope("Asha Rao <asha@example.com>"))
    for recipient in ["", "asha", "asha@", "@example.com", "a@b.com\r\nBcc: c@d.com"]:
        with pytest.raises(TransportError) as caught:
            await mailbox.deliver(envelope(recipient))
        assert caught.value.permanent is True
