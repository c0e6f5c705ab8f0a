"""The staged row and the merge rule (``mas.core.crm.merge_rule``) as SQL, for PostgreSQL and
SQLite: which columns a chunk is staged in, what a new lead takes from its first row, and the SET
list a merge applies. The statements that use them are ``bulk_sql``; running them is
``bulk_leads``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from mas.core.crm.import_rules import IntakeRow
from mas.core.crm.merge_rule import MAIN_PHONE, MERGE_RULES, REOPENED_AS, REOPENS, MergeRule
from mas.core.crm.model import LeadStatus

STAGED_AS = {"phone_e164": "phone", "extra_data": "extra"}
"""Lead fields an ``IntakeRow`` (a staged row) names otherwise."""
JSON_FIELDS = ("extra", "tags")
"""Staged as JSON text."""
_BOOKKEEPING = ("row_no", "ref", "payload", "source_id")
ROW_TEXT = tuple(
    f.name
    for f in msgspec.structs.fields(IntakeRow)
    if f.name not in _BOOKKEEPING and f.name not in JSON_FIELDS
)
"""The text fields of a row: its contact fields and phones (``name``, ``email``, …)."""
REQUIRED = {f.name for f in msgspec.structs.fields(IntakeRow) if f.default is msgspec.NODEFAULT}
STAGE_COLUMNS = (
    "row_no",
    "ref",
    "source_id",
    "grp",
    *ROW_TEXT,
    *JSON_FIELDS,
    "payload",
    "lead_new",
    "intake_id",
    "activity_id",
)
WRITTEN = tuple(field for field, rule in MERGE_RULES.items() if rule is not MergeRule.UNION)
"""The lead columns an intake writes (tags, unioned, live in ``raw_lead_tags``)."""
FILLED = tuple(
    STAGED_AS.get(field, field)
    for field, rule in MERGE_RULES.items()
    if rule in (MergeRule.FILL_EMPTY, MergeRule.SECOND_NUMBER, MergeRule.ADD_KEYS)
)
"""The staged fields a merge reads: per lead, the first non-empty value of each."""


def _sql_strings(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in sorted(values)) + ")"


REOPENING = _sql_strings(status.value for status in REOPENS)
NEW = f"'{LeadStatus.NEW.value}'"

PG_UUID7 = (
    "CAST(encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
    "substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) "
    "from 1 for 6), 52, 1), 53, 1), 'hex') AS uuid)"
)


@dataclass(frozen=True)
class Dialect:
    name: str
    uuid: str  # SQL type of an id
    uuid7: str  # expression: a new UUIDv7
    now: str
    pool: str
    actor: str
    json: str  # type of a JSON value built from text
    json_object: str
    temp: str  # suffix of CREATE TEMP TABLE

    def as_json(self, expr: str) -> str:
        return f"CAST({expr} AS {self.json})" if self.json else expr

    def add_keys(self, incoming: str, own: str) -> str:
        """The JSON object ``own`` with the keys of ``incoming`` it does not have."""
        if self.name == "postgresql":
            return f"CAST({incoming} AS jsonb) || {own}"
        return f"json_patch({incoming}, {own})"


PG = Dialect(
    name="postgresql",
    uuid="uuid",
    uuid7=PG_UUID7,
    now="CAST(:now AS timestamptz)",
    pool="CAST(:pool AS uuid)",
    actor="CAST(:actor AS uuid)",
    json="jsonb",
    json_object="jsonb_build_object",
    temp="ON COMMIT DELETE ROWS",
)
SQLITE = Dialect(
    name="sqlite",
    uuid="BLOB",
    uuid7="mas_uuid7()",
    now=":now",
    pool=":pool",
    actor=":actor",
    json="",
    json_object="json_object",
    temp="",
)


def _staged(field: str, table: str = "staged") -> str:
    """A lead field's staged value: ``staged.phone`` for ``phone_e164``."""
    return f"{table}.{STAGED_AS.get(field, field)}"


def new_value(d: Dialect, field: str) -> str:
    """What a new lead's ``field`` is set to from its first row."""
    rule = MERGE_RULES[field]
    if rule is MergeRule.SECOND_NUMBER:  # a number equal to the main one is no second number
        return f"CASE WHEN {_staged(field)} <> {_staged(MAIN_PHONE)} THEN {_staged(field)} END"
    if rule is MergeRule.ADD_KEYS:
        no_keys = d.as_json("'{}'")
        return f"coalesce({d.as_json(_staged(field))}, {no_keys})"
    return _staged(field)


def merged_values(d: Dialect) -> list[str]:
    """``MERGE_RULES`` as the SET list of the merge: ``lead`` is the lead, ``arrived`` holds per
    lead the first non-empty staged value of each field, the rows' count and their phones."""
    main = f"coalesce(nullif(lead.{MAIN_PHONE}, ''), {_staged(MAIN_PHONE, 'arrived')})"
    assignments = []
    for field, rule in MERGE_RULES.items():
        incoming = _staged(field, "arrived")
        if rule is MergeRule.FILL_EMPTY:
            value = f"coalesce(nullif(lead.{field}, ''), {incoming})"
        elif rule is MergeRule.SECOND_NUMBER:
            value = f"""coalesce(nullif(lead.{field}, ''), CASE
                WHEN {incoming} IS NOT NULL AND {incoming} <> {main} THEN {incoming}
                WHEN arrived.phone_hi <> {main} THEN arrived.phone_hi
                WHEN arrived.phone_lo <> {main} THEN arrived.phone_lo END)"""
        elif rule is MergeRule.ADD_KEYS:
            added = d.add_keys(incoming, f"lead.{field}")
            value = f"CASE WHEN {incoming} IS NULL THEN lead.{field} ELSE {added} END"
        else:  # KEEP; UNION is the tags step
            continue
        assignments.append(f"{field} = {value}")
    reopen = f"lead.status IN {REOPENING}"
    return [
        *assignments,
        "reinquiry_count = lead.reinquiry_count + arrived.arrivals",
        f"status = CASE WHEN {reopen} THEN '{REOPENED_AS.value}' ELSE lead.status END",
        f"lost_reason = CASE WHEN {reopen} THEN NULL ELSE lead.lost_reason END",
        f"version = lead.version + 1, last_activity_at = {d.now}, updated_at = {d.now}",
    ]


def first_values(d: Dialect, where: str) -> str:
    """Per lead, over the rows merging into it: how many, the lowest and highest phone (a second
    number becomes the alternate phone), and the first non-empty value of each field.

    PostgreSQL aggregates a subquery sorted by (lead, row number): an aggregate keeps its input
    order, and one sort is far cheaper than an ``ORDER BY`` inside each aggregate.
    """
    if d is PG:
        firsts = ", ".join(
            f"(array_agg({f}) FILTER (WHERE {f} IS NOT NULL))[1] AS {f}" for f in FILLED
        )
        return (
            "SELECT lead_id AS merged_into, count(*) AS arrivals, min(phone) AS phone_lo, "
            f"max(phone) AS phone_hi, {firsts} FROM (SELECT * FROM imp_rows WHERE {where} "
            "ORDER BY lead_id, row_no) AS ordered GROUP BY lead_id"
        )
    windows = ", ".join(
        f"first_value({f}) OVER (PARTITION BY lead_id ORDER BY {f} IS NULL, row_no) AS {f}"
        for f in FILLED
    )
    return (
        f"SELECT merged_into, arrivals, phone_lo, phone_hi, {', '.join(FILLED)} FROM (SELECT "
        "lead_id AS merged_into, row_no, count(*) OVER per_lead AS arrivals, "
        "min(phone) OVER per_lead AS phone_lo, max(phone) OVER per_lead AS phone_hi, "
        f"min(row_no) OVER per_lead AS first, {windows} FROM imp_rows WHERE {where} "
        "WINDOW per_lead AS (PARTITION BY lead_id)) AS per_row WHERE row_no = first"
    )
