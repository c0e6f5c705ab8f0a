"""The AES-GCM secret box: round trip, rotation, tampering, unknown versions."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mas.adapters.secretbox import NONCE_BYTES, AesGcmSecretBox, derive_key
from mas.core.platform.ports.secrets import SecretBox, SecretUnreadable

OLD = "an-old-installation-secret-of-at-least-32-bytes"
NEW = "a-new-installation-secret-of-at-least-32-bytes!"
CREDENTIAL = b'{"access_token": "EAAG-meta-token", "phone_number_id": "1055"}'


def test_round_trip() -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD})
    assert isinstance(box, SecretBox)
    sealed, version = box.seal(CREDENTIAL)
    assert version == box.key_version == 1
    assert CREDENTIAL not in sealed
    assert len(sealed) == NONCE_BYTES + len(CREDENTIAL) + 16
    assert box.open(sealed, version) == CREDENTIAL
    assert box.open(*box.seal(b"")) == b""


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD})
    first, second = box.seal(CREDENTIAL)[0], box.seal(CREDENTIAL)[0]
    assert first[:NONCE_BYTES] != second[:NONCE_BYTES]
    assert first != second


def test_the_format_is_nonce_then_aes_gcm_with_the_version_bound() -> None:
    box = AesGcmSecretBox.from_secrets({3: OLD})
    sealed, version = box.seal(CREDENTIAL)
    plain = AESGCM(derive_key(OLD, 3)).decrypt(
        sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], b"mas.secretbox.v3"
    )
    assert (plain, version) == (CREDENTIAL, 3)


def test_rotation_seals_with_the_new_key_and_still_opens_the_old() -> None:
    before = AesGcmSecretBox.from_secrets({1: OLD})
    old_sealed, old_version = before.seal(CREDENTIAL)
    after = AesGcmSecretBox.from_secrets({1: OLD, 2: NEW})
    assert after.key_version == 2
    assert after.open(old_sealed, old_version) == CREDENTIAL
    new_sealed, new_version = after.seal(CREDENTIAL)
    assert new_version == 2
    assert after.open(new_sealed, new_version) == CREDENTIAL
    with pytest.raises(SecretUnreadable, match="key version 2"):
        before.open(new_sealed, new_version)


def test_versions_of_one_secret_are_different_keys() -> None:
    assert derive_key(OLD, 1) != derive_key(OLD, 2)
    assert derive_key(OLD, 1) == derive_key(OLD.encode(), 1)
    box = AesGcmSecretBox.from_secrets({1: OLD, 2: OLD})
    sealed, _ = box.seal(CREDENTIAL)
    with pytest.raises(SecretUnreadable, match="does not verify"):
        box.open(sealed, 1)  # relabelled with another version


@pytest.mark.parametrize("position", [0, NONCE_BYTES, NONCE_BYTES + 5, -1])
def test_tampering_is_refused(position: int) -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD})
    sealed, version = box.seal(CREDENTIAL)
    altered = bytearray(sealed)
    altered[position] ^= 0x01
    with pytest.raises(SecretUnreadable, match="does not verify") as caught:
        box.open(bytes(altered), version)
    assert caught.value.code == "secret_unreadable"
    assert b"EAAG" not in caught.value.detail.encode()


def test_truncated_and_foreign_ciphertexts_are_refused() -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD})
    sealed, version = box.seal(CREDENTIAL)
    with pytest.raises(SecretUnreadable, match="too short"):
        box.open(sealed[: NONCE_BYTES + 15], version)
    with pytest.raises(SecretUnreadable, match="does not verify"):
        box.open(sealed[:-1], version)
    other = AesGcmSecretBox.from_secrets({1: NEW})
    with pytest.raises(SecretUnreadable, match="does not verify"):
        other.open(sealed, version)


def test_unknown_version_is_refused() -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD, 2: NEW})
    sealed, _ = box.seal(CREDENTIAL)
    with pytest.raises(SecretUnreadable, match=r"key version 7, .* holds \[1, 2\]"):
        box.open(sealed, 7)


def test_current_version_can_be_chosen_and_must_exist() -> None:
    box = AesGcmSecretBox.from_secrets({1: OLD, 2: NEW}, current=1)
    assert box.seal(CREDENTIAL)[1] == 1
    with pytest.raises(ValueError, match="current key version 3"):
        AesGcmSecretBox.from_secrets({1: OLD}, current=3)


@pytest.mark.parametrize(
    ("secrets", "message"),
    [({}, "at least one"), ({1: "short"}, "at least 32 bytes"), ({0: OLD}, "start at 1")],
)
def test_bad_key_material_is_refused(secrets: dict[int, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AesGcmSecretBox.from_secrets(secrets)


def test_raw_keys_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        AesGcmSecretBox({1: b"k" * 16}, current=1)
