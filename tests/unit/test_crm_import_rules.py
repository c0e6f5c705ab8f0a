"""CSV import rules: encodings, delimiters, headers, mapping, row reasons, the error CSV, chunking
for resume; and the phone normaliser's fast path against the phonenumbers library."""

from __future__ import annotations

import csv
import io
import random

import pytest

from mas.adapters.phone import _FALLBACK, LibPhoneNormalizer, _fast_indian, _library_e164
from mas.core.crm.import_engine import apply_outcome, chunked, rows_done, scan
from mas.core.crm.import_rules import (
    MAX_ROW_CHARS,
    IntakeRow,
    RejectedRow,
    RowRules,
    check_committable,
    check_mapping,
    detect_encoding,
    error_csv,
    parse_tags,
    read_shape,
    records,
    sniff_delimiter,
)
from mas.core.crm.model import ImportBatch, ImportStatus, propose_mapping
from mas.core.crm.ports.imports import ChunkOutcome
from mas.core.platform.errors import BadRequest, ValidationFailed

PHONES = LibPhoneNormalizer()
HEADERS = ["Name", "Mobile", "Email", "City", "Notes"]
MAP = {"Name": "name", "Mobile": "phone", "Email": "email", "City": "city"}


def rules(headers: list[str] = HEADERS, mapping: dict[str, str] = MAP) -> RowRules:
    return RowRules(headers, mapping, PHONES, "batch:b:")


def rows_of(data: bytes) -> tuple[list[str], list[list[str]]]:
    stream = io.BytesIO(data)
    shape = read_shape(stream)
    return shape.headers, list(records(stream, shape))


# --- reading the file -------------------------------------------------------------------------


def test_utf8_with_bom_is_read_and_the_bom_is_not_part_of_the_header() -> None:
    data = "\ufeffName,Mobile\nAsha,9876543210\n".encode()
    assert detect_encoding(io.BytesIO(data)) == "utf-8-sig"
    headers, rows = rows_of(data)
    assert headers == ["Name", "Mobile"]
    assert propose_mapping(headers) == {"Name": "name", "Mobile": "phone"}
    assert rows == [["Asha", "9876543210"]]


def test_windows_1252_is_the_fallback() -> None:
    data = "Name,City\nJosé,Bengaluru – South\n".encode("cp1252")
    assert detect_encoding(io.BytesIO(data)) == "cp1252"
    assert rows_of(data)[1] == [["José", "Bengaluru – South"]]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"Name,City\n\x81\x8d\x8f\x90\x9d\n", "bad_encoding"),  # neither UTF-8 nor cp1252
        ("Name,City\n".encode("utf-16"), "bad_encoding"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_csv"),
        (b"", "not_csv"),
        (b"\n\n", "not_csv"),
        (b"just one line of prose that is not a table\n", "not_csv"),
    ],
)
def test_what_is_not_a_csv_file_is_a_bad_request(data: bytes, code: str) -> None:
    with pytest.raises(BadRequest) as caught:
        read_shape(io.BytesIO(data))
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"a;b",c', ","), ("name", ",")],
)
def test_delimiter_is_sniffed_from_the_header(line: str, delimiter: str) -> None:
    assert sniff_delimiter(line) == delimiter


def test_semicolons_quoted_newlines_and_blank_lines() -> None:
    data = (
        b'Name;Mobile;City\r\n"Ravi\nKumar";9876543210;"Pune; MH"\r\n;;\r\n\r\nSita;9876543211;\r\n'
    )
    headers, rows = rows_of(data)
    assert headers == ["Name", "Mobile", "City"]
    assert rows == [["Ravi\nKumar", "9876543210", "Pune; MH"], ["Sita", "9876543211", ""]]


def test_header_only_file_has_no_rows_and_cannot_be_committed() -> None:
    shape, total, preview = scan(io.BytesIO(b"Name,Phone,Email\n"))
    assert (shape.headers, total, preview) == (["Name", "Phone", "Email"], 0, [])
    with pytest.raises(ValidationFailed) as caught:
        check_committable({"Name": "name", "Phone": "phone"}, total)
    assert caught.value.code == "empty_file"


def test_a_single_known_column_is_a_csv() -> None:
    assert read_shape(io.BytesIO(b"email\na@b.co\n")).headers == ["email"]


def test_empty_and_repeated_header_names_are_made_unique() -> None:
    assert read_shape(io.BytesIO(b"Phone,,phone,Name\n")).headers == [
        "Phone",
        "column_2",
        "phone_2",
        "Name",
    ]


def test_preview_holds_the_first_twenty_rows() -> None:
    data = "Name,Mobile\n" + "".join(f"P{i},98765{i:05d}\n" for i in range(30))
    _, total, preview = scan(io.BytesIO(data.encode()))
    assert total == 30
    assert len(preview) == 20 and preview[0] == {"Name": "P0", "Mobile": "9876500000"}


# --- mapping ----------------------------------------------------------------------------------


def test_mapping_refuses_unknown_columns_fields_and_a_field_twice() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_mapping(
            HEADERS, {"Nope": "name", "Name": "salary", "Mobile": "phone", "City": "phone"}
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"column_map.Nope", "column_map.Name", "column_map.City"}
    assert check_mapping(HEADERS, {"Name": "name", "City": None, "Mobile": "phone"}) == {
        "Name": "name",
        "Mobile": "phone",
    }


@pytest.mark.parametrize(
    ("mapping", "code"),
    [
        ({"Name": "name", "City": "city"}, "no_contact_column"),
        ({"Email": "email"}, "no_name_column"),
    ],
)
def test_commit_needs_a_contact_and_a_name_column(mapping: dict[str, str], code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_committable(mapping, 10)
    assert caught.value.code == code


# --- rows -------------------------------------------------------------------------------------


def parse(*cells: str) -> IntakeRow | RejectedRow:
    return rules().parse(7, list(cells))


def test_a_good_row_is_normalised() -> None:
    row = parse("  Asha  Rao ", "098765 43210", " Asha@Example.COM ", "Pune", "call after 6")
    assert isinstance(row, IntakeRow)
    assert (row.name, row.phone, row.email, row.city) == (
        "Asha Rao",
        "+919876543210",
        "asha@example.com",
        "Pune",
    )
    assert row.ref == "batch:b:7"
    assert row.extra == {"Notes": "call after 6"}
    assert row.payload["Mobile"] == "098765 43210"


@pytest.mark.parametrize(
    ("cells", "reasons"),
    [
        (("Asha", "", "", "Pune", ""), ["NO_CONTACT"]),
        (("Asha", "9876543210", "not-an-email", "", ""), ["BAD_EMAIL"]),
        (("Asha", "12345", "", "", ""), ["BAD_PHONE"]),
        (("Asha", "12345", "nope@", "", ""), ["BAD_EMAIL", "BAD_PHONE"]),
        (("", "9876543210", "", "", ""), ["NO_NAME"]),
        (("Unknown", "9876543210", "", "", ""), ["NO_NAME"]),
        (("", "", "", "", ""), ["NO_CONTACT", "NO_NAME"]),
        (("Asha", "9876543210", "", "", "", "spill"), ["ROW_TOO_LONG"]),
        (("Asha", "9876543210", "", "", "x" * MAX_ROW_CHARS), ["ROW_TOO_LONG"]),
    ],
)
def test_rejected_rows_name_their_reasons(cells: tuple[str, ...], reasons: list[str]) -> None:
    row = parse(*cells)
    assert isinstance(row, RejectedRow)
    assert row.reasons == reasons and row.reason == reasons[0]
    assert row.raw["Name"] == cells[0]


def test_a_bad_phone_is_kept_aside_when_the_email_is_good() -> None:
    row = parse("Asha", "12345", "asha@example.com", "", "")
    assert isinstance(row, IntakeRow)
    assert row.phone is None and row.email == "asha@example.com"
    assert row.extra == {"phone_raw": "12345"}


def test_trailing_empty_cells_are_not_a_long_row() -> None:
    assert isinstance(parse("Asha", "9876543210", "", "", "", "", ""), IntakeRow)


def test_the_only_good_number_becomes_the_main_one() -> None:
    headers = ["Name", "Phone", "Alt"]
    row = rules(headers, {"Name": "name", "Phone": "phone", "Alt": "phone_alt"}).parse(
        1, ["Asha", "bad", "98765 43210"]
    )
    assert isinstance(row, IntakeRow)
    assert (row.phone, row.phone_alt) == ("+919876543210", None)
    assert row.extra == {"phone_raw": "bad"}


def test_session_year_and_tags() -> None:
    headers = ["Name", "Phone", "Session", "Tags"]
    mapping = {"Name": "name", "Phone": "phone", "Session": "session_year", "Tags": "tags"}
    good = rules(headers, mapping).parse(1, ["A", "9876543210", "2025-26", "Drone Tech; ai|x"])
    bad = rules(headers, mapping).parse(2, ["A", "9876543210", "next year", ""])
    assert isinstance(good, IntakeRow) and isinstance(bad, IntakeRow)
    assert good.session_year == "2025-26" and good.tags == ["ai", "drone-tech"]
    assert bad.session_year is None and bad.extra == {"session_year_raw": "next year"}
    assert parse_tags("a, Space Tech ,space-tech") == ["space-tech"]


def test_error_csv_has_the_rows_as_sent_with_number_and_reasons() -> None:
    rejected = [
        RejectedRow(3, ["NO_CONTACT"], {"Name": "Asha", "Mobile": "", "Email": ""}),
        RejectedRow(9, ["BAD_EMAIL", "BAD_PHONE"], {"Name": "Ravi", "Mobile": "1", "Email": "x"}),
    ]
    text = error_csv(["Name", "Mobile", "Email"], rejected).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [
        ["row_no", "reasons", "Name", "Mobile", "Email"],
        ["3", "NO_CONTACT", "Asha", "", ""],
        ["9", "BAD_EMAIL;BAD_PHONE", "Ravi", "1", "x"],
    ]


# --- chunks and counters ----------------------------------------------------------------------


def test_chunks_skip_the_rows_already_counted() -> None:
    cells = [["P", f"98765{i:05d}", "", "", ""] for i in range(1, 11)] + [["", "", "", "", ""]]
    chunks = list(chunked(iter(cells), rules(), skip=4, size=3))
    numbers = [[r.row_no for r in accepted + rejected] for accepted, rejected, _ in chunks]
    assert numbers == [[5, 6, 7], [8, 9, 10], [11]]
    assert [last for _, _, last in chunks] == [7, 10, 11]


def test_a_smaller_first_chunk_then_full_ones() -> None:
    cells = [["P", f"98765{i:05d}", "", "", ""] for i in range(1, 11)]
    chunks = list(chunked(iter(cells), rules(), skip=1, size=4, first=2))
    numbers = [[r.row_no for r in accepted + rejected] for accepted, rejected, _ in chunks]
    assert numbers == [[2, 3], [4, 5, 6, 7], [8, 9, 10]]


def test_counters_add_up() -> None:
    batch = ImportBatch(
        id=__import__("uuid").uuid4(),
        uploaded_by=None,
        target_sales_head_id=None,
        file_key="k",
        file_sha256="",
        file_name="f.csv",
        status=ImportStatus.RUNNING,
        created_at=__import__("datetime").datetime.now(),
    )
    apply_outcome(batch, ChunkOutcome(created=5, merged=2, rejected={"NO_CONTACT": 1}))
    apply_outcome(batch, ChunkOutcome(created=1, rejected={"NO_CONTACT": 2, "BAD_EMAIL": 1}))
    assert (batch.created_count, batch.merged_count, batch.rejected_count) == (6, 2, 4)
    assert batch.rejected_by_reason == {"NO_CONTACT": 3, "BAD_EMAIL": 1}
    assert rows_done(batch) == 12


# --- the phone normaliser's fast path ---------------------------------------------------------


def spellings(count: int) -> list[str]:
    rng = random.Random(11)
    found = []
    for _ in range(count):
        n = str(rng.randint(1_000_000_000, 9_999_999_999))
        found += [
            n,
            "0" + n,
            "+91" + n,
            f"+91 {n[:5]} {n[5:]}",
            f"0{n[:5]}-{n[5:]}",
            f"({n[:3]}) {n[3:6]}.{n[6:]}",
            "91" + n,
            n[: rng.randint(4, 9)],
            "+91 0" + n,
            f"+1 {n}",
        ]
    return found


def test_the_fast_path_answers_exactly_like_phonenumbers() -> None:
    fast = 0
    for text in spellings(1000):
        answer = _fast_indian(text)
        if answer is not _FALLBACK:
            fast += 1
            assert answer == _library_e164(text, "IN"), text
        assert PHONES.to_e164(text) == _library_e164(text, "IN"), text
    assert fast > 3_000  # the common spellings do take it
