"""The machinery under every bulk lead intake (a CSV import, a vendor pull): a file read in chunks
of rows, parsed one chunk ahead in a worker thread, each chunk written in its own transaction and
retried when it loses a race, and the batch's counters that make a run resumable.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from typing import BinaryIO, TypeVar

from mas.core.crm.import_rules import (
    PREVIEW_ROWS,
    CsvShape,
    IntakeRow,
    RejectedRow,
    RowRules,
    read_shape,
    records,
)
from mas.core.crm.model import ImportBatch
from mas.core.crm.ports.imports import ChunkOutcome, WriteConflict
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.platform.errors import Conflict, Transient
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm.imports")


class ImportBusy(Conflict, Transient):
    """A chunk kept losing races to concurrent writers: the import task tries again later."""

    code = "import_busy"


WRITE_ATTEMPTS = 4

T = TypeVar("T")
Chunk = tuple[list[IntakeRow], list[RejectedRow], int]
CHUNK_ROWS = 10_000


def rows_done(batch: ImportBatch) -> int:
    return batch.created_count + batch.merged_count + batch.rejected_count


def apply_outcome(batch: ImportBatch, outcome: ChunkOutcome) -> None:
    batch.created_count += outcome.created
    batch.merged_count += outcome.merged
    reasons = dict(batch.rejected_by_reason)
    for reason, count in outcome.rejected.items():
        reasons[reason] = reasons.get(reason, 0) + count
    batch.rejected_by_reason = reasons
    batch.rejected_count += sum(outcome.rejected.values())


async def write_with_retry(
    uow_factory: UnitOfWorkFactory[CrmUnitOfWork], work: Callable[[CrmUnitOfWork], Awaitable[T]]
) -> T:
    """Run ``work`` (one chunk) in a unit of work and commit; a lost race (``WriteConflict``)
    rolls back and runs it again."""
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            async with uow_factory() as uow:
                result = await work(uow)
                await uow.commit()
                return result
        except WriteConflict as exc:
            if attempt == WRITE_ATTEMPTS:
                raise ImportBusy(
                    "leads in this chunk kept changing under the import; retry the import"
                ) from exc
            log.info("crm.import_chunk_retry", extra={"attempt": attempt, "reason": str(exc)})
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


FAST_SWITCH_S = 0.0005
_switch = {"depth": 0.0, "saved": 0.005}  # nesting of prefetches; the interval to restore


async def prefetch(items: Iterator[T]) -> AsyncGenerator[T, None]:
    """Yield from a blocking iterator, computing the next item in a thread meanwhile.

    While the thread parses, every database round trip of the event loop waits for the GIL;
    at the default 5 ms switch interval a statement that takes the server 0.3 ms costs ~100 ms
    on the client. A 0.5 ms interval for the duration keeps both moving.
    """
    if not _switch["depth"]:
        _switch["saved"] = sys.getswitchinterval()
        sys.setswitchinterval(FAST_SWITCH_S)
    _switch["depth"] += 1
    pending = asyncio.ensure_future(asyncio.to_thread(next, items, None))
    try:
        while (item := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(next, items, None))
            yield item
    finally:
        # The thread cannot be stopped: let it finish before the stream under it is closed.
        await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()
        _switch["depth"] -= 1
        if not _switch["depth"]:
            sys.setswitchinterval(_switch["saved"])


def chunked(
    cells: Iterator[list[str]], rules: RowRules, skip: int, size: int, first: int | None = None
) -> Generator[Chunk, None, None]:
    """(accepted, rejected, last row number) per ``size`` rows after the first ``skip`` rows;
    the first chunk ``first`` rows (the database waits for it: a small one starts it sooner)."""
    want = first or size
    rows: list[IntakeRow] = []
    rejected: list[RejectedRow] = []
    row_no = 0
    for row_no, record in enumerate(cells, start=1):
        if row_no <= skip:
            continue
        parsed = rules.parse(row_no, record)
        if isinstance(parsed, IntakeRow):
            rows.append(parsed)
        else:
            rejected.append(parsed)
        if len(rows) + len(rejected) >= want:
            yield rows, rejected, row_no
            rows, rejected, want = [], [], size
    if rows or rejected:
        yield rows, rejected, row_no


def scan(stream: BinaryIO) -> tuple[CsvShape, int, list[dict[str, str]]]:
    """Shape, row count and the first rows (as header -> cell) of an uploaded file."""
    shape = read_shape(stream)
    total = 0
    preview: list[dict[str, str]] = []
    for cells in records(stream, shape):
        total += 1
        if total <= PREVIEW_ROWS:
            preview.append(dict(zip(shape.headers, cells, strict=False)))
    return shape, total, preview
