"""The ids a staged import chunk carries (``bulk_leads._records``): valid UUIDv7, ascending in
the order the rows are inserted, never shared."""

from __future__ import annotations

import uuid

from mas.adapters.db.crm.bulk_leads import _records, _uuid7_run
from mas.core.crm.import_rules import IntakeRow

LEAD, INTAKE, ACTIVITY = -3, -2, -1


def row(row_no: int, phone: str | None, email: str | None = None) -> IntakeRow:
    return IntakeRow(
        name=f"Lead {row_no}", row_no=row_no, ref=f"r{row_no}", payload={}, phone=phone, email=email
    )


def test_a_run_of_ids_is_uuid7_counting_up() -> None:
    for _ in range(200):
        first = _uuid7_run(30_000)
        for value in (first, first + 29_999):
            made = uuid.UUID(int=value)
            assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert _uuid7_run(3) != _uuid7_run(3)


def test_lead_ids_ascend_by_key_and_journal_ids_by_row() -> None:
    rows = [
        row(1, "+919800000003"),
        row(2, None, "b@example.com"),
        row(3, "+919800000001"),
        row(4, None, "a@example.com"),
        row(5, "+919800000002"),
    ]
    for pg in (True, False):
        staged = _records(rows, pg)

        def value(record: tuple[object, ...], at: int) -> int:
            raw = record[at]
            return int(raw, 16) if isinstance(raw, str) else int.from_bytes(raw)  # type: ignore[arg-type]

        by_key = sorted(staged, key=lambda record: value(record, LEAD))
        assert [record[0] for record in by_key] == [3, 5, 1, 4, 2]  # phones, then emails
        for column in (INTAKE, ACTIVITY):
            assert [value(record, column) for record in staged] == sorted(
                value(record, column) for record in staged
            )
        every = [value(record, at) for record in staged for at in (LEAD, INTAKE, ACTIVITY)]
        assert len(set(every)) == 3 * len(rows)
