"""Communications: the mail part (communications.md). Built by its manifest part,
``mas.modules.comms.mail``.

Exports the part's services (``MailServices``), what builds them (``MailPorts``,
``build_mail``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MailPorts:
    pass


@dataclass(frozen=True)
class MailServices:
    pass


def build_mail(ports: MailPorts) -> MailServices:
    return MailServices()


HANDLERS: Sequence[Handler[MailServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[MailServices, Any]] = ()
