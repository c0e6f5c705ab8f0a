"""A worker killed in the middle of sending an email: after redelivery, exactly one message
reaches the SMTP server.

The SMTP server here (aiosmtpd, its own thread) stalls the first connection's EHLO, so the first
worker is inside the send — the outbox message claimed, its job RUNNING, the connection open —
when it is killed with SIGKILL. JetStream redelivers the job to a second worker once the lease
lapses; the delivery sees the message still unsent and sends it once. (Once a server has
answered 250 to DATA the message is the server's: a kill after that point and before our commit
would send it again, which is why every message carries its outbox id as ``Message-ID`` —
receivers can recognise the repeat.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mas.core.platform.job_model import JobFilter, JobStatus
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import PageRequest
from tests.nats.conftest import Processes, wait_for

pytestmark = pytest.mark.nats


class StallingMailbox:
    """Keeps what it accepts; the first connection's EHLO hangs until ``release`` is set."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.ehlos = 0
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to an EHLO hook
        self.ehlos += 1
        if self.ehlos == 1:
            self.stalled.set()
            await asyncio.to_thread(self.release.wait, 60)
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[StallingMailbox, int]]:
    handler = StallingMailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        handler.release.set()
        controller.stop()


@pytest.fixture
def smtp_env(stack_env: dict[str, str], mailbox: tuple[StallingMailbox, int]) -> dict[str, str]:
    stack_env.update(
        {
            "MAS_MAIL_TRANSPORT": "smtp",
            "MAS_SMTP_HOST": "127.0.0.1",
            "MAS_SMTP_PORT": str(mailbox[1]),
            "MAS_SMTP_STARTTLS": "false",
            "MAS_SMTP_TIMEOUT_MS": "8000",
        }
    )
    return stack_env


async def test_a_worker_killed_mid_send_leaves_exactly_one_smtp_delivery(
    smtp_env: dict[str, str],
    producer: Any,
    procs: Processes,
    mailbox: tuple[StallingMailbox, int],
) -> None:
    handler, _ = mailbox
    doomed = procs.worker("doomed")
    message = OutboxMessage.email(
        to="student@example.com",
        subject="Your session is confirmed",
        body_text="See you at 10:00.",
        now=producer.clock.now(),
    )
    async with producer.uow() as uow:
        await uow.send(message)
        await uow.commit()  # the relay hands it to the send task on NATS

    await wait_for(
        lambda: asyncio.sleep(0, handler.stalled.is_set()),
        timeout=30,
        what="the first worker to open the SMTP connection",
    )
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    handler.release.set()  # the dead worker's connection is gone; nothing more arrives on it
    killed_at = time.monotonic()
    procs.worker("survivor")

    async def sent() -> bool:
        async with producer.uow() as uow:
            stored = await uow.outbox.get_message(message.id)
        return stored is not None and stored.status is OutboxStatus.SENT

    await wait_for(sent, timeout=90, what="the surviving worker to send the message")
    await asyncio.sleep(1.0)  # a second delivery, if there were one, would land now
    assert len(handler.received) == 1
    delivered = message_from_bytes(handler.received[0], policy=policy.default)
    assert str(delivered["Message-ID"]).startswith(f"<{message.id}@")
    page = await producer.jobs.page(JobFilter(task="comms.send_email"), PageRequest(1, 10))
    assert [run.status for run in page.items] == [JobStatus.SUCCEEDED]
    assert page.items[0].attempts == 2
    print(f"recovered {time.monotonic() - killed_at:.1f} s after the kill")
