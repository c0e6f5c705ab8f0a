"""Page requests and pages: ``{items, total, page, page_size}`` on every list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

import msgspec

from mas.core.platform.errors import FieldError, ValidationFailed

T = TypeVar("T")

MAX_PAGE_SIZE = 100
# Deep enough for any list a person pages through; page × page_size then stays far below the
# 64-bit OFFSET a database accepts (a page near 2**63 was a 500 on PostgreSQL).
MAX_PAGE = 100_000


class PageRequest(msgspec.Struct, frozen=True):
    page: int = 1
    page_size: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise _out_of_range("page", MAX_PAGE)
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise _out_of_range("page_size", MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    total: int
    page: int
    page_size: int


def page_of(items: Sequence[T], req: PageRequest) -> Page[T]:
    """One page of a list held whole: a small set (a user's sessions, the vendor keys, a
    team) or one that is ranked as a whole before it is cut (the leaderboard)."""
    return Page(
        items=list(items[req.offset : req.offset + req.page_size]),
        total=len(items),
        page=req.page,
        page_size=req.page_size,
    )


def _out_of_range(field: str, highest: int) -> ValidationFailed:
    message = f"must be between 1 and {highest}"
    return ValidationFailed(f"{field} {message}", errors=[FieldError(field, message)])
