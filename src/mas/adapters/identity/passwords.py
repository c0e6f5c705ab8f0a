"""Argon2id password hashing with pwdlib.

Parameters follow OWASP's first argon2id choice (19 MiB, 2 passes, 1 lane): the library
default (64 MiB, 3 passes, 4 lanes) took 330-470 ms per hash on our 2-core hosts, long enough to
stall the event loop and to invite a login flood. Existing hashes keep verifying whatever
parameters they were made with, because argon2 reads them from the hash string.
"""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher as _Argon2

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1


class Argon2Hasher:
    def __init__(
        self,
        *,
        time_cost: int = TIME_COST,
        memory_cost_kib: int = MEMORY_COST_KIB,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._hash = PasswordHash(
            (_Argon2(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism),)
        )
        self._dummy_hash: str | None = None

    @property
    def _dummy(self) -> str:
        """An unknown email must cost what a wrong password costs: it is checked against this."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hash.hash("no such account: timing equaliser")
        return self._dummy_hash

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str | None) -> bool:
        if not hashed:
            self._hash.verify(password, self._dummy)
            return False
        try:
            return self._hash.verify(password, hashed)
        except UnknownHashError:
            # A stored value that is not an argon2 hash can never match; keep the timing.
            self._hash.verify(password, self._dummy)
            return False
