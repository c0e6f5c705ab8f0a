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
    greatest: str  # the larger of two values
    least: str

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
    greatest="greatest",
    least="least",
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
    greatest="max",
    least="min",
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
    lead the first non-empty staged value of each field, the rows' count and their second
    number."""
    assignments = []
    for field, rule in MERGE_RULES.items():
        incoming = _staged(field, "arrived")
        if rule is MergeRule.FILL_EMPTY:
            value = f"coalesce(nullif(lead.{field}, ''), {incoming})"
        elif rule is MergeRule.SECOND_NUMBER:  # the first row's (``first_values``)
            value = f"coalesce(nullif(lead.{field}, ''), arrived.second_number)"
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
    """Per lead, over the rows merging into it: how many, the first non-empty value of each
    field, and the second number: the first row's (in file order) that has one, its alternate
    or else its phone, whichever differs from the lead's main phone (the lead's own, or the
    first that arrives when it has none): ``keep_second_number`` one row after the other.

    PostgreSQL aggregates a subquery sorted by (lead, row number): an aggregate keeps its input
    order, and one sort is far cheaper than an ``ORDER BY`` inside each aggregate.
    """
    # ``main``: the lead's phone before the merge (``imp_target``, read when it was locked).
    rows = (
        "SELECT *, coalesce(nullif(main, ''), first_value(phone) OVER "
        "(PARTITION BY lead_id ORDER BY phone IS NULL, row_no)) AS main_phone "
        f"FROM imp_rows WHERE {where}"
    )
    second = (
        "CASE WHEN phone_alt IS NOT NULL AND phone_alt <> main_phone THEN phone_alt "
        "WHEN phone IS NOT NULL AND phone <> main_phone THEN phone END"
    )
    picked = (*FILLED, "second_number")
    candidates = f"SELECT *, {second} AS second_number FROM ({rows}) AS arrivals"
    if d is PG:
        firsts = ", ".join(
            f"(array_agg({f}) FILTER (WHERE {f} IS NOT NULL))[1] AS {f}" for f in picked
        )
        return (
            f"SELECT lead_id AS merged_into, count(*) AS arrivals, {firsts} FROM ({candidates} "
            "ORDER BY lead_id, row_no) AS ordered GROUP BY lead_id"
        )
    windows = ", ".join(
        f"first_value({f}) OVER (PARTITION BY lead_id ORDER BY {f} IS NULL, row_no) AS {f}"
        for f in picked
    )
    return (
        f"SELECT merged_into, arrivals, {', '.join(picked)} FROM (SELECT "
        "lead_id AS merged_into, row_no, count(*) OVER per_lead AS arrivals, "
        f"min(row_no) OVER per_lead AS first, {windows} FROM ({candidates}) AS candidates "
        "WINDOW per_lead AS (PARTITION BY lead_id)) AS per_row WHERE row_no = first"
    )
