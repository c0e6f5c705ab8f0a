"""The installation's secret box: what is kept encrypted at rest — provider credentials
(communications.md §8), Google Calendar tokens, an export's password while its job runs.
The platform provides one (``container.secret_box``); a service that needs it takes it as a port.

``seal`` encrypts with the current key and says which key version it used; ``open`` decrypts
with the version stored beside the ciphertext, so keys can rotate while older rows still open.
The adapter is AES-GCM (``mas.adapters.secretbox``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from mas.core.platform.errors import DomainError


class SecretUnreadable(DomainError):
    """A sealed secret cannot be opened: its key version is unknown or it was altered.

    Callers treat the credential as missing (the provider becomes unconfigured, sends are
    SUPPRESSED) and alert an admin (communications.md §9); the message never holds the secret.
    """

    code = "secret_unreadable"
    title = "Stored secret cannot be decrypted"


@runtime_checkable
class SecretBox(Protocol):
    @property
    def key_version(self) -> int:
        """The version ``seal`` uses now."""
        ...

    def seal(self, plaintext: bytes) -> tuple[bytes, int]:
        """``(ciphertext, key_version)``; the ciphertext carries its own nonce."""
        ...

    def open(self, ciphertext: bytes, key_version: int) -> bytes:
        """The plaintext, or ``SecretUnreadable``."""
        ...
