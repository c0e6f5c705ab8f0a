"""The GST audit log's hash chain (payments-finance.md §3 GstAuditLog): each row carries the
hash of the row before it, so altering, removing or reordering any stored row breaks every hash
from there on, and ``first_broken`` names the first row that no longer matches.

A row's hash is SHA-256 over the previous hash and the row's canonical JSON (sorted keys, no
spaces, UTC ISO times), so the same row always hashes the same on any database.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

GENESIS = "0" * 64


class ChainedRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    seq: int
    """The row's place in the chain (1, 2, …): the order the check walks."""
    entity_type: str
    entity_id: str
    action: str
    actor_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    created_at: datetime
    prev_hash: str
    row_hash: str


_encoder = msgspec.json.Encoder(order="sorted")


def canonical(row: ChainedRow) -> bytes:
    """The hashed content: every field but the two hashes."""
    fields = msgspec.structs.asdict(row)
    fields.pop("prev_hash")
    fields.pop("row_hash")
    return _encoder.encode(fields)


def hash_of(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def seal(row: ChainedRow, prev_hash: str) -> ChainedRow:
    """``row`` chained after ``prev_hash``."""
    unsealed = msgspec.structs.replace(row, prev_hash=prev_hash, row_hash="")
    return msgspec.structs.replace(unsealed, row_hash=hash_of(prev_hash, canonical(unsealed)))


def first_broken(rows: Iterable[ChainedRow], prev_hash: str = GENESIS) -> ChainedRow | None:
    """The first row (in chain order) whose links or content were altered, or None."""
    for row in rows:
        if row.prev_hash != prev_hash or row.row_hash != hash_of(prev_hash, canonical(row)):
            return row
        prev_hash = row.row_hash
    return None
