"""AES-256-GCM secret box with versioned keys (``cryptography``'s ``AESGCM``).

A sealed value is ``nonce (12 random bytes) || ciphertext || tag (16 bytes)``; the key version
is stored beside it (``provider_credentials.key_version``) and is bound into the tag as
associated data, so relabelling a row with another version fails like any tampering.

Each version's 256-bit key is derived with HKDF-SHA256 from a secret of the installation (the
settings' ``encryption_key``, as ``StdSecrets`` uses it), the version being part of the HKDF
info: the same secret under two versions gives two unrelated keys. The current version seals;
every version given still opens, which is how a key is rotated: add the new secret as a higher
version, keep the old one until every row is re-sealed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mas.core.platform.ports.secrets import SecretUnreadable

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
MIN_SECRET_BYTES = 32
HKDF_SALT = b"mas.comms.secretbox"


def derive_key(secret: str | bytes, version: int) -> bytes:
    """The AES-256 key of ``version`` derived from an installation secret."""
    material = secret.encode() if isinstance(secret, str) else secret
    if len(material) < MIN_SECRET_BYTES:
        raise ValueError(f"an encryption secret needs at least {MIN_SECRET_BYTES} bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=HKDF_SALT,
        info=f"mas/provider-credentials/v{version}".encode(),
    )
    return hkdf.derive(material)


def _aad(version: int) -> bytes:
    return f"mas.secretbox.v{version}".encode()


class AesGcmSecretBox:
    def __init__(self, keys: Mapping[int, bytes], *, current: int) -> None:
        if current not in keys:
            raise ValueError(f"the current key version {current} has no key")
        for version, key in keys.items():
            if version < 1:
                raise ValueError("key versions start at 1")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key version {version} is not {KEY_BYTES} bytes")
        self._ciphers = {version: AESGCM(key) for version, key in keys.items()}
        self._current = current

    @classmethod
    def from_secrets(
        cls, secrets: Mapping[int, str | bytes], *, current: int | None = None
    ) -> AesGcmSecretBox:
        """Keys derived from installation secrets by version; the highest version seals
        unless ``current`` says otherwise."""
        if not secrets:
            raise ValueError("at least one encryption secret is needed")
        keys = {version: derive_key(secret, version) for version, secret in secrets.items()}
        return cls(keys, current=max(keys) if current is None else current)

    @property
    def key_version(self) -> int:
        return self._current

    def seal(self, plaintext: bytes) -> tuple[bytes, int]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext, _aad(self._current))
        return nonce + sealed, self._current

    def open(self, ciphertext: bytes, key_version: int) -> bytes:
        cipher = self._ciphers.get(key_version)
        if cipher is None:
            raise SecretUnreadable(
                f"the secret was sealed with key version {key_version}, which this server "
                f"does not hold (it holds {sorted(self._ciphers)})"
            )
        if len(ciphertext) < NONCE_BYTES + TAG_BYTES:
            raise SecretUnreadable("the sealed secret is too short to be one")
        nonce, body = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, body, _aad(key_version))
        except InvalidTag:
            raise SecretUnreadable(
                f"the sealed secret does not verify under key version {key_version} "
                "(altered, or sealed with another key)"
            ) from None
