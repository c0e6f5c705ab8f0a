"""The in-memory ``RoomStore`` against the shared contract."""

from __future__ import annotations

from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.realtime.memory import MemoryRoomStore
from tests.room_store_contract import *  # noqa: F403 - the contract's tests run here


@pytest.fixture
def rooms() -> tuple[Any, FakeClock]:
    clock = FakeClock()
    return MemoryRoomStore(clock), clock
