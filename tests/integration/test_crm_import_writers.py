"""An import written by several writers (a window split into parts, ``import_partition``) ends
as one writer would leave it, a part that fails is replayed without doubles, and the batch's
counters add up under concurrent parts.

Two imports are compared in one database: the same logical rows, each run with phones and emails
of its own (an offset in the number, a domain per run), mapped back to the logical keys before
comparing (leads match across pools, so the runs must not share a key).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from mas.adapters.db.crm.imports import SqlImportRepository
from mas.core.crm.imports import ImportService
from mas.core.crm.model import ImportBatch, ImportStatus, Lead, LeadSource, LeadStatus
from mas.core.crm.tagging import NewTag
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from tests.integration.test_crm_import import ADMIN, add_user, head_caller

HEADER = ["Name", "Mobile", "Alternate Phone", "Email", "City", "Tags", "Notes"]
OFFSET = 50_000_000  # run k's numbers are 98 followed by n + k * OFFSET (8 digits)
# Rows per part with two writers; one writer takes 2 * CHUNK, the same window size (two writers
# start with a window of half a part, so their later windows are shifted by 5 rows).
CHUNK = 10


def digits(n: int, k: int) -> str:
    return f"98{n + k * OFFSET:08d}"


def e164(n: int, k: int) -> str:
    return "+91" + digits(n, k)


def mail(n: int, k: int) -> str:
    return f"m{n}@r{k}.example.com"


def logical_rows(k: int) -> list[list[str]]:
    """70 rows. The cases sit where they hold for the windows of one writer (20 rows) and of
    two (a first window of 5, then 20): rows 8 and 9 in one window, row 35 in the window before
    rows 47 and 48 (the tests check where the windows fell)."""

    def r(name: str, ph: str = "", alt: str = "", em: str = "", city: str = "", tags: str = "",
          notes: str = "") -> list[str]:  # fmt: skip
        return [name, ph, alt, em, city, tags, notes]

    def d(n: int) -> str:
        return digits(n, k)

    def m(n: int) -> str:
        return mail(n, k)

    special = {
        1: r("Asha", d(1), em=m(1), city="Pune", tags="drone-tech"),
        2: r("Asha K", "+91 " + d(1), city="Mumbai", notes="call after 6"),  # row 1, respelled
        3: r("Bala", d(2), alt=d(3), tags="webinar"),  # its alternate is row 4's phone
        4: r("Bala office", d(3), city="Delhi"),
        5: r("Chitra", d(4), em=m(4)),  # two numbers, one email
        6: r("Chitra 2", d(5), em=m(4), city="Kochi"),
        7: r("Asha mail", em=m(1).upper(), notes="by email"),  # email only: row 1's lead
        8: r("Lost by phone", "0" + d(900), city="Goa"),  # the existing lost lead, by phone
        9: r("Lost by mail", em=m(900), tags="webinar"),  # the same lead, by email
        11: r("Nobody"),  # NO_CONTACT
        12: r("Bad mail", em="not-an-email"),  # BAD_EMAIL
        23: r("Bala again", "+91-" + d(2), notes="second"),
        24: r("Existing two", d(901), em=m(901)),  # the existing lead without an email
        25: r("Two by alt", d(40), alt=d(901)),  # that lead through this row's alternate
        26: r("", d(41)),  # NO_NAME
        27: r("Nobody 2"),  # NO_CONTACT
        35: r("Dev", d(135), em=m(135)),  # a new lead: matched in the next window by its
        47: r("Dev mail", d(147), em=m(135), city="Agra"),  # email
        48: r("Dev again", "0" + d(135), city="Surat", tags="drone-tech"),  # and by its phone
        69: r("Late mail", em=m(4)),
        70: r("Nobody 3"),  # NO_CONTACT
    }
    rows = []
    for n in range(1, 71):
        if n in special:
            rows.append(special[n])
        elif n <= 40:
            rows.append(r(f"Lead {n}", d(n), em=m(n) if n % 3 == 0 else ""))
        elif n <= 60:  # duplicates of earlier rows (odd rows), new ones (even rows)
            number = n % 20 + 13 if n % 2 else n
            rows.append(r(f"Again {n}", d(number), city="Jaipur" if n % 5 else ""))
        else:  # some with an earlier row's phone as the alternate
            rows.append(r(f"Late {n}", d(n), alt=d(n - 30) if n % 3 == 0 else ""))
    return rows


def csv_of(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


async def add_existing(c: Any, owner: User, k: int) -> None:
    """Run k's existing leads: one lost (reopened by the import), one without an email."""
    now = c.clock.now()
    base: dict[str, Any] = {
        "created_at": now,
        "updated_at": now,
        "source": LeadSource.MANUAL,
        "owning_sales_head_id": owner.id,
    }
    lost = Lead(
        id=uuid7(),
        name="Existing one",
        phone_e164=e164(900, k),
        email=mail(900, k),
        status=LeadStatus.NOT_INTERESTED,
        lost_reason="price",
        **base,
    )
    plain = Lead(id=uuid7(), name="Existing two", phone_e164=e164(901, k), **base)
    async with c.uow() as uow:
        for lead in (lost, plain):
            await uow.leads.add(lead)
        await uow.commit()


async def add_tags(c: Any) -> None:
    for name in ("drone-tech", "webinar"):
        await c.crm.tags.create(ADMIN, NewTag(name=name))


async def queued(c: Any, head: User, data: bytes) -> ImportBatch:
    """An uploaded batch, QUEUED and not run (as the worker would find it)."""
    batch: ImportBatch = await c.crm.imports.upload(head_caller(head), "w.csv", data)
    async with c.uow() as uow:
        found = await uow.imports.get(batch.id)
        assert found is not None
        found.move(ImportStatus.QUEUED)
        await uow.imports.save(found)
        await uow.commit()
    return batch


def configure(c: Any, writers: int, chunk_rows: int) -> None:
    c.crm.imports.writers = writers
    c.crm.imports.chunk_rows = chunk_rows


# --- reading a run back in logical keys -------------------------------------------------------

_PHONE = re.compile(r"^\+9198(\d{8})$")
_MAIL = re.compile(r"@r(\d)\.example\.com$")


def logical(value: str | None) -> tuple[int, str] | None:
    """(run, the key without the run) of a phone or email; None for no value."""
    if value is None:
        return None
    if (phone := _PHONE.match(value)) is not None:
        n = int(phone.group(1))
        return n // OFFSET, f"p{n % OFFSET}"
    found = _MAIL.search(value)
    assert found is not None, value
    return int(found.group(1)), _MAIL.sub("@example.com", value)


def ident(raw: Any) -> str:
    return raw.hex() if isinstance(raw, bytes) else str(raw).replace("-", "")


def as_dict(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


async def rows_of(c: Any, sql: str, **params: Any) -> list[Any]:
    async with c.engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def outcome_of(c: Any, batch_id: uuid.UUID, k: int) -> dict[str, Any]:
    """Everything a user sees of run ``k``, in logical keys: leads (content, tags, activity
    types), the intake of each row and the lead it went to, the batch's counters."""
    tags: dict[str, list[str]] = {}
    for lead_id, name in await rows_of(
        c,
        "SELECT t.raw_lead_id, g.name FROM raw_lead_tags t JOIN lead_tags g ON g.id = t.tag_id",
    ):
        tags.setdefault(ident(lead_id), []).append(name)
    kinds: dict[str, Counter[str]] = {}
    for lead_id, kind in await rows_of(c, "SELECT raw_lead_id, type FROM lead_activities"):
        kinds.setdefault(ident(lead_id), Counter())[kind] += 1
    leads: dict[Any, Any] = {}
    key_of: dict[str, Any] = {}
    for lead_id, name, ph, alt, em, city, status, again, extra in await rows_of(
        c,
        "SELECT id, name, phone_e164, phone_alt, email, city, status, reinquiry_count, "
        "extra_data FROM raw_leads WHERE deleted_at IS NULL",
    ):
        keys = [logical(ph), logical(alt), logical(em)]
        runs = {key[0] for key in keys if key is not None}
        assert len(runs) == 1, (ph, alt, em)  # a lead never mixes the runs' keys
        if runs != {k}:
            continue
        key = tuple(key[1] if key is not None else None for key in keys)
        assert key not in leads, key  # one lead per identity
        key_of[ident(lead_id)] = key
        leads[key] = (
            name,
            city,
            status,
            again,
            as_dict(extra),
            sorted(tags.get(ident(lead_id), [])),
            dict(sorted(kinds.get(ident(lead_id), Counter()).items())),
        )
    prefix = f"batch:{batch_id}:"
    intakes = {}
    for ref, outcome, lead_id in await rows_of(
        c,
        "SELECT channel_ref, outcome, raw_lead_id FROM lead_intakes WHERE channel_ref LIKE :p",
        p=prefix + "%",
    ):
        row_no = int(ref.removeprefix(prefix))
        assert row_no not in intakes
        intakes[row_no] = (outcome, key_of[ident(lead_id)])
    async with c.uow() as uow:
        batch = await uow.imports.get(batch_id)
    assert batch is not None
    kept = await rows_of(
        c,
        "SELECT row_no FROM lead_import_rows WHERE batch_id = :b",
        b=batch_id if c.engine.dialect.name == "postgresql" else batch_id.bytes,
    )
    return {
        "leads": leads,
        "intakes": intakes,
        "rejected_rows": sorted(row_no for (row_no,) in kept),
        "counters": (
            batch.status,
            batch.created_count,
            batch.merged_count,
            batch.rejected_count,
            batch.rejected_by_reason,
            batch.total_rows,
            batch.resume_row,
        ),
    }


def assert_counters_match_tables(result: dict[str, Any], rows: int | None = None) -> None:
    """The batch's counters are the tables' counts (a lost update would show), and add up to
    ``rows`` (by default the batch's total)."""
    _, created, merged, rejected, by_reason, total, _ = result["counters"]
    outcomes = Counter(outcome for outcome, _ in result["intakes"].values())
    assert created == outcomes["CREATED"]
    assert merged == outcomes["MERGED"] + outcomes["REOPENED"]
    assert rejected == len(result["rejected_rows"]) == sum(by_reason.values())
    assert created + merged + rejected == (total if rows is None else rows)


class Windows:
    """The windows a run writes, each as its parts' row numbers, its rejected rows and its last
    row (a spy on ``ImportService._write_window``): where the file's cases fell."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[tuple[list[list[int]], list[int], int]] = []
        real = ImportService._write_window
        seen = self.seen

        async def write_window(
            service: ImportService,
            target: Any,
            parts: Any,
            rejected: Any,
            last_row: int,
            ready: Any,
        ) -> Any:
            numbers = [[r.row_no for r in part] for part in parts]
            seen.append((numbers, [r.row_no for r in rejected], last_row))
            return await real(service, target, parts, rejected, last_row, ready)

        monkeypatch.setattr(ImportService, "_write_window", write_window)

    def window(self, row_no: int) -> int:
        (found,) = [
            at
            for at, (parts, rejected, _) in enumerate(self.seen)
            if row_no in rejected or any(row_no in part for part in parts)
        ]
        return found

    def part(self, row_no: int) -> tuple[int, int]:
        parts = self.seen[self.window(row_no)][0]
        (found,) = [at for at, part in enumerate(parts) if row_no in part]
        return self.window(row_no), found

    def parts(self, row_no: int) -> int:
        return len(self.seen[self.window(row_no)][0])


def assert_same_result(got: dict[str, Any], want: dict[str, Any]) -> None:
    """What a user sees of two runs is the same: leads, intakes, rejected rows, counters."""
    for part in ("leads", "intakes", "rejected_rows", "counters"):
        assert got[part] == want[part], part


def one_part_per_lead(windows: Windows, result: dict[str, Any]) -> None:
    """Rows of one window that ended in one lead were written by one part (the split's
    promise, checked against where the rows went)."""
    rows_of_lead: dict[Any, list[int]] = {}
    for row_no, (_, lead) in result["intakes"].items():
        rows_of_lead.setdefault(lead, []).append(row_no)
    for rows in rows_of_lead.values():
        for a in rows:
            for b in rows:
                if windows.window(a) == windows.window(b):
                    assert windows.part(a) == windows.part(b), (a, b, windows.seen)


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.committing  # two writers: concurrent transactions
async def test_two_writers_leave_what_one_writer_leaves(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the two writers' transactions take turns; the split is the same."""
    owner, head = (
        await add_user(container, Role.SALES_HEAD),
        await add_user(container, Role.SALES_HEAD),
    )
    await add_tags(container)
    windows = Windows(monkeypatch)
    results = []
    for k, writers in ((0, 1), (1, 2)):
        windows.seen.clear()
        await add_existing(container, owner, k)
        configure(container, writers, 2 * CHUNK // writers)
        batch = await queued(container, head, csv_of(logical_rows(k)))
        done = await container.crm.imports.run(batch.id)
        assert done.status is ImportStatus.COMPLETED_WITH_ERRORS
        results.append(await outcome_of(container, batch.id, k))
        # Where the cases fell: rows 8 and 9 (one existing lead by phone and by email) in one
        # window; row 35's lead created a window before rows 47 and 48 match it.
        assert len(windows.seen) >= 4
        assert windows.window(8) == windows.window(9)
        assert windows.window(35) < windows.window(47) == windows.window(48)
        assert windows.window(3) == windows.window(4)  # see row 4 below
        if writers == 2:
            assert all(windows.parts(n) == 2 for n in (8, 47))
            assert max(len(parts) for parts, _, _ in windows.seen) == 2
            one_part_per_lead(windows, results[-1])
    one, two = results

    # What the file exercised, seen in the single writer's result.
    assert one["counters"][3:6] == (5, {"NO_CONTACT": 3, "BAD_EMAIL": 1, "NO_NAME": 1}, 70)
    assert one["leads"][("p900", None, "m900@example.com")][2] == "NEW"  # the lost lead
    assert "REOPENED" in {one["intakes"][8][0], one["intakes"][9][0]}
    intakes = one["intakes"]
    assert intakes[8][1] == intakes[9][1]  # by phone and by email: one lead
    assert (
        intakes[35][1] == intakes[47][1] == intakes[48][1] == ("p135", "p147", "m135@example.com")
    )
    assert intakes[1][1] == intakes[2][1] == intakes[7][1]
    assert intakes[5][1] == intakes[6][1] == intakes[69][1]
    assert intakes[24][1] == intakes[25][1] == ("p901", "p40", "m901@example.com")
    # Row 4's phone is row 3's alternate: one lead, in one chunk as across chunks.
    assert intakes[3][1] == intakes[4][1] == intakes[23][1] == ("p2", "p3", None)

    for result in results:
        assert_counters_match_tables(result)
    assert_same_result(two, one)


@pytest.mark.committing  # two writers: concurrent transactions
async def test_a_failed_part_is_replayed_without_doubles(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("several writers write on PostgreSQL only")
    owner, head = (
        await add_user(container, Role.SALES_HEAD),
        await add_user(container, Role.SALES_HEAD),
    )
    await add_tags(container)
    # The clean import, one writer.
    await add_existing(container, owner, 0)
    configure(container, 1, 2 * CHUNK)
    clean = await queued(container, head, csv_of(logical_rows(0)))
    await container.crm.imports.run(clean.id)
    expected = await outcome_of(container, clean.id, 0)

    await add_existing(container, owner, 1)
    configure(container, 2, CHUNK)
    batch = await queued(container, head, csv_of(logical_rows(1)))
    windows = Windows(monkeypatch)
    real = SqlImportRepository.write_chunk
    failed: list[list[int]] = []

    class PartFailed(Exception):
        pass

    def doomed() -> tuple[list[int], list[int], int] | None:
        """The second part of the second window that has two parts and rejected rows (those
        go with the first part), its first part's rows, and the window before's last row."""
        chosen = [
            at
            for at, (parts, rejected, _) in enumerate(windows.seen)
            if at > 0 and len(parts) == 2 and rejected
        ]
        if not chosen:
            return None
        parts, _, _ = windows.seen[chosen[0]]
        return parts[1], parts[0], windows.seen[chosen[0] - 1][2]

    async def write_or_fail(self: Any, target: Any, rows: Any, *args: Any, **kwargs: Any) -> Any:
        plan = doomed()
        if not failed and plan is not None and [r.row_no for r in rows] == plan[0]:
            failed.append(plan[0])
            # Fail once the window's other part has committed.
            first_ref = f"batch:{batch.id}:{plan[1][0]}"
            for _ in range(500):
                if await rows_of(
                    container, "SELECT 1 FROM lead_intakes WHERE channel_ref = :r", r=first_ref
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the other part never committed")
            raise PartFailed
        return await real(self, target, rows, *args, **kwargs)

    monkeypatch.setattr(SqlImportRepository, "write_chunk", write_or_fail)
    with pytest.raises(PartFailed):
        await container.crm.imports.run(batch.id)
    plan = doomed()
    assert plan is not None and failed == [plan[0]], windows.seen
    failing, committed, before = plan
    rejected = windows.seen[windows.window(failing[0])][1]

    async with container.uow() as uow:
        halfway = await uow.imports.get(batch.id)
    assert halfway is not None
    assert halfway.status is ImportStatus.RUNNING
    assert halfway.resume_row == before  # the end of the window before: this one is not done
    written = await outcome_of(container, batch.id, 1)
    assert set(committed) <= set(written["intakes"])  # the first part stayed
    assert set(rejected) <= set(written["rejected_rows"])  # with the window's rejected rows
    assert not set(failing) & set(written["intakes"])  # the second part did not
    assert_counters_match_tables(written, before + len(committed) + len(rejected))

    done = await container.crm.imports.run(batch.id)
    assert done.status is ImportStatus.COMPLETED_WITH_ERRORS
    assert windows.seen[-1][2] == 70, windows.seen
    result = await outcome_of(container, batch.id, 1)
    assert_counters_match_tables(result)
    assert_same_result(result, expected)


@pytest.mark.committing  # two writers: concurrent transactions
async def test_counters_add_up_under_two_writers(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    configure(container, 2, 8)
    rows = []
    for n in range(400):
        if n % 13 == 5:
            rows.append([f"Nobody {n}", "", "", "", "", "", ""])
        elif n % 7 == 3:
            rows.append([f"Again {n}", digits(n // 2, 0), "", "", "", "", ""])
        else:
            rows.append([f"Lead {n}", digits(n, 0), "", mail(n, 0), "", "", ""])
    batch = await queued(container, head, csv_of(rows))
    windows = Windows(monkeypatch)
    done = await container.crm.imports.run(batch.id)
    result = await outcome_of(container, batch.id, 0)
    assert_counters_match_tables(result)
    assert len(windows.seen) > 20
    one_part_per_lead(windows, result)
    assert done.rejected_count == sum(1 for n in range(400) if n % 13 == 5)
    assert done.total_rows == done.resume_row == 400


# Rows as (name, phone n, alternate n, email n), each chunk's rows in file order.
ALTERNATE_CASES = {
    # One's alternate is the other's number: one lead, whichever comes first.
    "alternate-first": [("Bala", 2, 3, None), ("Bala office", 3, None, None)],
    "phone-first": [("Bala office", 3, None, None), ("Bala", 2, 3, None)],
    # A chain: the lead keeps its first alternate, so the third number stays a lead of its own.
    "chain": [("Chitra", 4, 5, None), ("Chitra work", 5, 6, None), ("Chitra home", 6, None, None)],
    # Joined by email first; the alternate then joins a third group to that lead.
    "email-then-alternate": [
        ("Dev", 7, None, 1),
        ("Dev two", 8, None, 1),
        ("Dev three", 9, 7, None),
    ],
    # Two alternates naming one number: both join it.
    "two-alternates": [
        ("Esha", 10, None, None),
        ("Esha a", 11, 10, None),
        ("Esha b", 12, 10, None),
    ],
}


@pytest.mark.parametrize("case", list(ALTERNATE_CASES))
async def test_alternate_phones_inside_one_chunk_merge_as_across_chunks(
    container: Any, case: str
) -> None:
    """The rows one per chunk, then all in one chunk: the same leads, intakes and counters."""
    head = await add_user(container, Role.SALES_HEAD)
    cells = ALTERNATE_CASES[case]
    results = []
    for k, chunk_rows in ((0, 1), (1, len(cells))):
        configure(container, 1, chunk_rows)
        rows = [
            [
                name,
                digits(ph, k),
                digits(alt, k) if alt is not None else "",
                mail(em, k) if em is not None else "",
                "",
                "",
                "",
            ]
            for name, ph, alt, em in cells
        ]
        batch = await queued(container, head, csv_of(rows))
        await container.crm.imports.run(batch.id)
        results.append(await outcome_of(container, batch.id, k))
    apart, together = results
    assert_same_result(together, apart)
    assert len(together["intakes"]) == len(cells)  # no row lost in a fold
