"""The communications manifest's mail part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.comms.mail import MailPorts, MailServices, build_mail
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []


def build(c: Container) -> MailServices:
    return build_mail(MailPorts())


def writer(c: Container) -> Any:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    from mas.core.comms.mail.writer import MailWriter

    return MailWriter()
