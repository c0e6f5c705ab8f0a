"""The tokens manifest's wallet part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.tokens.wallet import WalletPorts, WalletServices, build_wallet
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> WalletServices:
    return build_wallet(WalletPorts())
