"""Lead imports, the pure part: read a CSV file's shape, map its columns, turn one row into a
normalised intake or a list of reasons it was rejected.

Encodings: UTF-8 (with or without BOM), then Windows-1252; anything else is 400 ``bad_encoding``.
Delimiter: the most frequent of ``,`` ``;`` and tab in the header line. Blank records (every
cell empty) are skipped and take no row number, so row numbers are stable between runs.

Row rules (a row is never fatal to the batch):
- ``ROW_TOO_LONG``: non-empty cells beyond the header, or more than 16 KB of text;
- ``NO_CONTACT``: neither a phone nor an email;
- ``BAD_EMAIL``: an email is given and is not one (an email is never silently dropped);
- ``BAD_PHONE``: a phone is given, is not a valid number, and there is no valid email — with a
  valid email the lead is kept and the typed phone goes to ``extra_data.phone_raw``;
- ``NO_NAME``: the name is empty (or "unknown") after trimming.
Unmapped columns with a value go to ``extra_data``; every non-empty cell goes to the intake's
payload (the snapshot of what was submitted).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

import msgspec

from mas.core.crm.contact import FREE_TEXT, LeadContact, clean_email, clean_name, clean_text
from mas.core.crm.model import LEAD_FIELDS, RejectReason, propose_mapping, slugify_tag
from mas.core.crm.phones import PhoneNormalizer
from mas.core.platform.errors import BadRequest, FieldError, ValidationFailed

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_ROWS = 50_000
PREVIEW_ROWS = 20
MAX_ROW_CHARS = 16_384
DEFAULT_REGION = "IN"
ENCODINGS = ("utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
SESSION_YEAR = re.compile(r"\d{4}-\d{2}")
_TAG_SPLIT = re.compile(r"[,;|]")


class CsvShape(msgspec.Struct, frozen=True):
    encoding: str
    delimiter: str
    headers: list[str]


class IntakeRow(LeadContact, gc=False):
    """A row that becomes (or merges into) a lead; every value normalised (phones in E.164)."""

    row_no: int
    ref: str
    payload: dict[str, str]
    phone: str | None = None
    phone_alt: str | None = None
    extra: dict[str, str] | None = None
    tags: list[str] | None = None
    source_id: uuid.UUID | None = None


class RejectedRow(msgspec.Struct, frozen=True, gc=False):
    row_no: int
    reasons: list[str]
    raw: dict[str, str]
    source_id: uuid.UUID | None = None

    @property
    def reason(self) -> str:
        return self.reasons[0]


def detect_encoding(stream: BinaryIO, block: int = 1 << 20) -> str:
    """The first of ``ENCODINGS`` that decodes the whole stream (read in blocks, then rewound)."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise BadRequest(
            "the file is UTF-16; save it as 'CSV UTF-8' and upload again", code="bad_encoding"
        )
    try:
        for encoding in ENCODINGS:
            stream.seek(start)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := stream.read(block):
                    if b"\x00" in chunk:
                        raise BadRequest("the file is binary, not CSV text", code="not_csv")
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            return encoding
    finally:
        stream.seek(start)
    raise BadRequest(
        "the file is neither UTF-8 nor Windows-1252 text; save it as 'CSV UTF-8'",
        code="bad_encoding",
    )


def sniff_delimiter(header_line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unique_headers(cells: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells):
        name = " ".join(cell.split()) or f"column_{index + 1}"
        count = seen.get(name.lower(), 0)
        seen[name.lower()] = count + 1
        headers.append(name if count == 0 else f"{name}_{count + 1}")
    return headers


def read_shape(stream: BinaryIO) -> CsvShape:
    """Encoding, delimiter and header of a CSV stream (rewound afterwards).

    Raises ``BadRequest`` (``bad_encoding`` or ``not_csv``) when it is not a CSV file we read.
    """
    encoding = detect_encoding(stream)
    start = stream.tell()
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first_line = text.readline(65536)
        text.seek(0)
        delimiter = sniff_delimiter(first_line)
        try:
            header = next(csv.reader(text, delimiter=delimiter), None)
        except csv.Error as exc:
            raise BadRequest(f"the header row is not CSV: {exc}", code="not_csv") from None
    finally:
        text.detach()
        stream.seek(start)
    if header is None or not any(cell.strip() for cell in header):
        raise BadRequest("the file is empty: it needs a header row", code="not_csv")
    if any(len(cell) > 200 for cell in header):
        raise BadRequest("the first line does not look like a header row", code="not_csv")
    headers = _unique_headers(header)
    if len(headers) == 1 and not propose_mapping(headers):
        raise BadRequest(
            "no delimiter (',', ';' or tab) in the header and no known column name: "
            "this does not look like a CSV file",
            code="not_csv",
        )
    return CsvShape(encoding, delimiter, headers)


def records(stream: BinaryIO, shape: CsvShape) -> Iterator[list[str]]:
    """Data records after the header, blank ones skipped; detaches from ``stream`` at the end."""
    text = io.TextIOWrapper(stream, encoding=shape.encoding, newline="")
    reader = csv.reader(text, delimiter=shape.delimiter)
    try:
        next(reader, None)
        for cells in reader:
            if any(cells):
                yield cells
    except csv.Error as exc:
        raise BadRequest(
            f"line {reader.line_num} is not valid CSV: {exc}", code="not_csv"
        ) from None
    finally:
        text.detach()


def check_mapping(headers: list[str], mapping: Mapping[str, str | None]) -> dict[str, str]:
    """A column map with known columns and fields, no field twice; empty values unmap."""
    errors = []
    used: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for column, field in mapping.items():
        if not field:
            continue
        if column not in headers:
            errors.append(FieldError(f"column_map.{column}", "no such column in the file"))
        elif field not in LEAD_FIELDS:
            errors.append(
                FieldError(f"column_map.{column}", f"unknown field; use one of {LEAD_FIELDS}")
            )
        elif field in used:
            errors.append(FieldError(f"column_map.{column}", f"'{field}' is already mapped"))
        else:
            used[field] = column
            cleaned[column] = field
    if errors:
        raise ValidationFailed("the column map is not usable", code="bad_mapping", errors=errors)
    return cleaned


def check_committable(mapping: Mapping[str, str], total_rows: int | None) -> None:
    fields = set(mapping.values())
    if not fields & {"phone", "email"}:
        raise ValidationFailed(
            "map a phone or an email column before importing",
            code="no_contact_column",
            errors=[FieldError("column_map", "needs a 'phone' or 'email' column")],
        )
    if "name" not in fields:
        raise ValidationFailed(
            "map a name column before importing",
            code="no_name_column",
            errors=[FieldError("column_map", "needs a 'name' column")],
        )
    if total_rows == 0:
        raise ValidationFailed("the file has a header but no rows", code="empty_file")


def parse_tags(raw: str) -> list[str]:
    found = []
    for part in _TAG_SPLIT.split(raw):
        if part.strip():
            try:
                found.append(slugify_tag(part))
            except ValidationFailed:
                continue  # an unusable tag name in one cell does not reject the lead
    return sorted(set(found))


class RowRules:
    """The rules for one batch: which column is which field, and how a row becomes a lead."""

    def __init__(
        self,
        headers: list[str],
        column_map: Mapping[str, str],
        phone: PhoneNormalizer,
        ref_prefix: str = "",
    ) -> None:
        self.headers = headers
        self._width = len(headers)
        self._index = {field: headers.index(col) for col, field in column_map.items()}
        self._extra = [(i, h) for i, h in enumerate(headers) if h not in column_map]
        self._phone = phone
        self._ref_prefix = ref_prefix

    def raw(self, cells: list[str]) -> dict[str, str]:
        raw = dict(zip(self.headers, cells, strict=False))
        if len(cells) > self._width:
            raw["_overflow"] = " | ".join(cells[self._width :])
        return raw

    def parse(self, row_no: int, cells: list[str]) -> IntakeRow | RejectedRow:
        width = self._width
        if (len(cells) > width and any(cells[width:])) or sum(map(len, cells)) > MAX_ROW_CHARS:
            return RejectedRow(row_no, [RejectReason.ROW_TOO_LONG.value], self.raw(cells))
        size = len(cells)
        values = {
            field: cells[i].strip() for field, i in self._index.items() if i < size and cells[i]
        }
        extra = {h: cells[i].strip() for i, h in self._extra if i < size and cells[i].strip()}
        payload = {h: v for h, v in zip(self.headers, cells, strict=False) if v}
        outcome = self.build(row_no, f"{self._ref_prefix}{row_no}", values, extra, payload)
        if isinstance(outcome, RejectedRow):
            return RejectedRow(row_no, outcome.reasons, self.raw(cells))
        return outcome

    def build(
        self,
        row_no: int,
        ref: str,
        values: dict[str, str],
        extra: dict[str, str],
        payload: dict[str, str],
        source_id: uuid.UUID | None = None,
    ) -> IntakeRow | RejectedRow:
        """``values``: lead field -> typed text (non-empty). The same cleaners as a manual add
        (``mas.core.crm.contact``), with a reason per row instead of an error."""
        phone_raw = values.get("phone", "").strip()
        email_raw = values.get("email", "").strip()
        main = self._phone.to_e164(phone_raw, DEFAULT_REGION) if phone_raw else None
        alt_raw = values.get("phone_alt", "").strip()
        second = self._phone.to_e164(alt_raw, DEFAULT_REGION) if alt_raw else None
        phone, alt = main, second
        if phone is None and alt is not None:
            phone, alt = alt, None  # the only good number is the main one
        email = _or_none(clean_email, email_raw) if email_raw else None
        name = _or_none(clean_name, values.get("name", ""))
        reasons = []
        if not phone_raw and not email_raw and not alt_raw:
            reasons.append(RejectReason.NO_CONTACT.value)
        if email_raw and email is None:
            reasons.append(RejectReason.BAD_EMAIL.value)
        if (phone_raw or alt_raw) and phone is None and email is None:
            reasons.append(RejectReason.BAD_PHONE.value)
        if name is None:
            reasons.append(RejectReason.NO_NAME.value)
        if reasons:
            return RejectedRow(row_no, reasons, payload, source_id)
        if phone_raw and main is None:
            extra["phone_raw"] = phone_raw[:40]
        if alt_raw and second is None:
            extra["phone_alt_raw"] = alt_raw[:40]
        if alt == phone:
            alt = None
        session = values.get("session_year", "").strip()
        if session and not SESSION_YEAR.fullmatch(session):
            extra["session_year_raw"] = session[:40]
            session = ""
        tags = values.get("tags")
        texts: dict[str, Any] = {field: _text(values, field) for field in FREE_TEXT}
        assert name is not None
        return IntakeRow(
            **texts,
            row_no=row_no,
            ref=ref,
            name=name,
            payload=payload,
            phone=phone,
            email=email,
            phone_alt=alt,
            session_year=session or None,
            extra=extra or None,
            tags=(parse_tags(tags) or None) if tags else None,
            source_id=source_id,
        )


def _or_none(clean: Callable[[str], str | None], raw: str) -> str | None:
    try:
        return clean(raw)
    except ValidationFailed:
        return None


def _text(values: dict[str, str], field: str) -> str | None:
    value = values.get(field)
    return clean_text(value, FREE_TEXT[field]) if value else None


def error_csv(headers: list[str], rows: list[RejectedRow]) -> bytes:
    """The rejected rows as the uploader sent them, with their row number and reasons first."""
    out = io.StringIO()
    extra = ["_overflow"] if any("_overflow" in r.raw for r in rows) else []
    writer = csv.writer(out)
    writer.writerow(["row_no", "reasons", *headers, *extra])
    for row in rows:
        cells = [row.raw.get(h, "") for h in [*headers, *extra]]
        writer.writerow([row.row_no, ";".join(row.reasons), *cells])
    return out.getvalue().encode("utf-8-sig")
