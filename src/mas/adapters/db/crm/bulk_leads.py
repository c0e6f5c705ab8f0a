"""The set-based lead intake: a chunk of normalised rows in, leads, intakes, activities and tags
out, with a fixed number of statements per chunk whatever its size (never one per row).

Rows are staged in a temporary table (``COPY`` on PostgreSQL, one ``executemany`` on SQLite),
each tagged with its identity group: the first row of the chunk with the same phone (or, with no
phone, the same email). Then, in SQL, inside the caller's transaction:

1. on a resumed run, rows whose intake (channel, ref) already exists are set aside (replayed);
2. each group is matched to a live lead: its phone against lead phones, then against alternate
   phones, then its alternate phone against lead phones, then its email. Unmatched groups with
   a phone that share their email with an earlier unmatched group join it (the same person with
   a second number). The first row of each remaining group inserts a new lead (``ON CONFLICT DO
   NOTHING`` on the partial unique phone index: a group that lost to a concurrent intake is
   matched again to the winner's lead);
3. groups without a phone are matched by email (including the leads step 2 just created), the
   rest insert new leads the same way (partial unique email index);
4. the leads merged into are locked in id order (PostgreSQL) and their status read; then every
   other row merges by the merge rule (``mas.core.crm.merge_rule``, from which the UPDATE is
   generated): only empty fields are filled (first non-empty value in file order, a second
   number becomes the alternate phone), ``extra_data`` keys are added, ``reinquiry_count`` grows
   by the rows merged, a lost lead reopens to NEW; owner and assignees never change. The later
   rows of a new lead's group merge into it the same way: duplicates inside the file end in the
   first row's lead;
5. one intake per row (``ON CONFLICT DO NOTHING``); activities only for the intakes this
   statement inserted (CREATED, or INTAKE_MERGED plus REOPENED); tags unioned.

Earlier chunks are existing leads to later ones, so duplicates across chunks merge the same way.
A race that cannot be settled inside the chunk raises ``WriteConflict``: the caller retries the
chunk in a new transaction.
"""

from __future__ import annotations

import operator
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mas.adapters.db.base import Base
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.merge_rule import MAIN_PHONE, MERGE_RULES, REOPENED_AS, REOPENS, MergeRule
from mas.core.crm.model import IntakeChannel, LeadStatus
from mas.core.crm.ports.imports import ChunkOutcome, IntakeTarget, WriteConflict
from mas.core.platform.ids import uuid7, uuid7_bytes_batch

# --- what is staged, and what the merge rule makes of it --------------------------------------

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
_REQUIRED = {f.name for f in msgspec.structs.fields(IntakeRow) if f.default is msgspec.NODEFAULT}
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
PHONE_ARBITER = "(phone_e164) WHERE deleted_at IS NULL AND phone_e164 IS NOT NULL"
EMAIL_ARBITER = "(email) WHERE deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"

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
    temp="ON COMMIT DROP",
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


def _new_value(d: Dialect, field: str) -> str:
    """What a new lead's ``field`` is set to from its first row."""
    rule = MERGE_RULES[field]
    if rule is MergeRule.SECOND_NUMBER:  # a number equal to the main one is no second number
        return f"CASE WHEN {_staged(field)} <> {_staged(MAIN_PHONE)} THEN {_staged(field)} END"
    if rule is MergeRule.ADD_KEYS:
        no_keys = d.as_json("'{}'")
        return f"coalesce({d.as_json(_staged(field))}, {no_keys})"
    return _staged(field)


def _merged_values(d: Dialect) -> list[str]:
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


def _create(d: Dialect) -> list[str]:
    row_text = ", ".join(
        f"{name} text{' NOT NULL' if name in _REQUIRED else ''}" for name in ROW_TEXT
    )
    json_text = ", ".join(f"{name} text" for name in JSON_FIELDS)
    row_values = ", ".join(f"staged.{name}" for name in (*ROW_TEXT, *JSON_FIELDS))
    statements = [
        f"""CREATE TEMP TABLE imp_stage (
            row_no integer PRIMARY KEY, ref text NOT NULL, source_id {d.uuid}, grp integer NOT NULL,
            {row_text}, {json_text}, payload text NOT NULL,
            lead_new {d.uuid} NOT NULL, intake_id {d.uuid} NOT NULL, activity_id {d.uuid} NOT NULL,
            replayed boolean NOT NULL DEFAULT FALSE) {d.temp}""",
        f"""CREATE TEMP TABLE imp_target (
            grp integer PRIMARY KEY, first integer NOT NULL, phone text, email text, alt text,
            lead_id {d.uuid}, fresh boolean NOT NULL DEFAULT FALSE, parent integer, was text,
            lead_first integer) {d.temp}""",
        # Each row with its lead and outcome: the first row of a new lead CREATED it, the first
        # row merged into a lost lead REOPENED it, every other row MERGED.
        f"""CREATE TEMP VIEW imp_rows AS
            SELECT staged.row_no, staged.ref, {row_values}, staged.payload, staged.intake_id,
                staged.activity_id, target.lead_id, target.was,
                CASE WHEN target.fresh AND staged.row_no = target.first THEN 'CREATED'
                    WHEN NOT target.fresh AND staged.row_no = target.lead_first
                        AND target.was IN {REOPENING} THEN 'REOPENED'
                    ELSE 'MERGED' END AS outcome
            FROM imp_stage AS staged JOIN imp_target AS target ON target.grp = staged.grp
            WHERE NOT staged.replayed""",
    ]
    if d is SQLITE:
        statements += [
            "CREATE INDEX temp.imp_stage_grp ON imp_stage (grp)",
            "CREATE INDEX temp.imp_target_email ON imp_target (email)",
            "CREATE INDEX temp.imp_target_lead ON imp_target (lead_id)",
        ]
    return statements


def _first_values(d: Dialect, where: str) -> str:
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


def _match(d: Dialect, column: str, key: str, phone_filter: str) -> str:
    """Targets still unmatched whose ``key`` equals a live lead's ``column`` (earliest lead)."""
    if d is PG:
        return f"""
            UPDATE imp_target AS target SET lead_id = matched.id FROM (
                SELECT DISTINCT ON (lead.{column}) lead.{column} AS value, lead.id
                FROM raw_leads AS lead
                WHERE lead.deleted_at IS NULL AND lead.{column} IN (
                    SELECT {key} FROM imp_target
                    WHERE lead_id IS NULL AND {key} IS NOT NULL AND phone {phone_filter})
                ORDER BY lead.{column}, lead.created_at, lead.id) AS matched
            WHERE target.lead_id IS NULL AND target.phone {phone_filter}
              AND target.{key} = matched.value"""
    return f"""
        UPDATE imp_target SET lead_id = (
            SELECT lead.id FROM raw_leads AS lead
            WHERE lead.{column} = imp_target.{key} AND lead.deleted_at IS NULL
            ORDER BY lead.created_at, lead.id LIMIT 1)
        WHERE lead_id IS NULL AND {key} IS NOT NULL AND phone {phone_filter}"""


def _match_phone(key: str) -> str:
    """Unmatched targets whose ``key`` is a live lead's phone (unique: a plain join)."""
    return f"""
        UPDATE imp_target AS target SET lead_id = lead.id FROM raw_leads AS lead
        WHERE target.lead_id IS NULL AND target.{key} IS NOT NULL
          AND lead.phone_e164 = target.{key}
          AND lead.phone_e164 IS NOT NULL AND lead.deleted_at IS NULL"""


def _insert_new(d: Dialect, with_phone: bool) -> str:
    """A new lead from the first row of each unmatched target, marked on the target.

    A target that lost to a concurrent intake on the partial unique index is skipped (``ON
    CONFLICT DO NOTHING``) and stays unmatched: the caller matches it to the winner's lead.
    Insertion is in key order, so concurrent imports take the index entries in the same order.
    """
    key, column = ("phone", "phone_e164") if with_phone else ("email", "email")
    phone_filter = "IS NOT NULL" if with_phone else "IS NULL"
    insert = f"""
        INSERT INTO raw_leads (id, {", ".join(WRITTEN)}, source, source_detail, status,
            owning_sales_head_id, reinquiry_count, version, last_activity_at, created_at,
            updated_at)
        SELECT staged.lead_new, {", ".join(_new_value(d, field) for field in WRITTEN)},
            CAST(:source AS text), CAST(:detail AS text), {NEW}, {d.pool}, 0, 0, {d.now},
            {d.now}, {d.now}
        FROM imp_target AS target JOIN imp_stage AS staged ON staged.row_no = target.first
        WHERE target.lead_id IS NULL AND target.phone {phone_filter}
        ORDER BY target.{key}
        ON CONFLICT {PHONE_ARBITER if with_phone else EMAIL_ARBITER} DO NOTHING"""
    if d is PG:
        return f"""
            WITH inserted AS ({insert} RETURNING id, {column})
            UPDATE imp_target AS target SET lead_id = inserted.id, fresh = TRUE FROM inserted
            WHERE target.lead_id IS NULL AND target.phone {phone_filter}
              AND target.{key} = inserted.{column}"""
    # SQLite has one writer: every unmatched target was inserted just now.
    return insert


def _mark_sqlite(with_phone: bool) -> str:
    if with_phone:
        return """
            UPDATE imp_target SET fresh = TRUE, lead_id = (
                SELECT lead.id FROM raw_leads AS lead
                WHERE lead.phone_e164 = imp_target.phone AND lead.deleted_at IS NULL)
            WHERE lead_id IS NULL AND phone IS NOT NULL"""
    return """
        UPDATE imp_target SET fresh = TRUE, lead_id = (
            SELECT lead.id FROM raw_leads AS lead WHERE lead.email = imp_target.email
              AND lead.phone_e164 IS NULL AND lead.deleted_at IS NULL)
        WHERE lead_id IS NULL AND phone IS NULL"""


def _journal(d: Dialect) -> list[str]:
    """One intake per row; activities only for the intakes this statement inserted."""
    intakes = f"""
        INSERT INTO lead_intakes (id, raw_lead_id, channel, channel_ref, outcome, payload,
            created_at, updated_at)
        SELECT intake_id, lead_id, CAST(:channel AS text), ref, outcome, {d.as_json("payload")},
            {d.now}, {d.now}
        FROM imp_rows WHERE TRUE
        ON CONFLICT (channel, channel_ref) DO NOTHING"""
    # SQLite has one writer: every intake of these rows was inserted by the statement above.
    written = (
        "inserted AS intake JOIN imp_stage AS staged ON staged.ref = intake.channel_ref"
        if d is PG
        else "imp_stage AS staged JOIN lead_intakes AS intake "
        "ON intake.channel = CAST(:channel AS text) AND intake.channel_ref = staged.ref "
        "AND NOT staged.replayed"
    )
    activities = f"""
        INSERT INTO lead_activities (id, raw_lead_id, actor_id, type, summary, data,
            occurred_at, created_at, updated_at)
        SELECT staged.activity_id, intake.raw_lead_id, {d.actor},
            CASE WHEN intake.outcome = 'CREATED' THEN 'CREATED' ELSE 'INTAKE_MERGED' END,
            CASE WHEN intake.outcome = 'CREATED' THEN CAST(:created_text AS text)
                ELSE CAST(:merged_text AS text) END,
            {d.json_object}('channel', CAST(:channel AS text), 'channel_ref', intake.channel_ref,
                'source', CAST(:source AS text)),
            {d.now}, {d.now}, {d.now}
        FROM {written}
        UNION ALL
        SELECT {d.uuid7}, intake.raw_lead_id, {d.actor}, 'REOPENED',
            'Reopened by a re-inquiry (was ' || lost.was || ')',
            {d.json_object}('from', lost.was, 'to', '{REOPENED_AS.value}',
                'channel_ref', intake.channel_ref),
            {d.now}, {d.now}, {d.now}
        FROM {written}
        JOIN (SELECT DISTINCT lead_id, was FROM imp_target
              WHERE NOT fresh AND was IN {REOPENING}) AS lost ON lost.lead_id = intake.raw_lead_id
        WHERE intake.outcome = 'REOPENED'"""
    if d is PG:
        returning = "RETURNING id, raw_lead_id, channel_ref, outcome"
        return [f"WITH inserted AS ({intakes} {returning}) {activities}"]
    return [intakes, activities]


def _steps(d: Dialect) -> dict[str, list[str]]:
    each_tag = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(CAST(arrival.tags AS jsonb)) "
        "AS tag_name(value)"
        if d is PG
        else "JOIN json_each(arrival.tags) AS tag_name"
    )
    # The leads merged into: locked in id order (PostgreSQL: concurrent imports cannot deadlock
    # on them), their status before the merge, and the first row of the chunk merging into each.
    if d is PG:
        lock = """
            UPDATE imp_target AS target SET was = locked.status, lead_first = locked.first FROM (
                SELECT lead.id, lead.status, firsts.first FROM raw_leads AS lead
                JOIN (SELECT lead_id, min(first) AS first FROM imp_target
                      WHERE NOT fresh GROUP BY lead_id) AS firsts ON firsts.lead_id = lead.id
                ORDER BY lead.id FOR UPDATE OF lead) AS locked
            WHERE target.lead_id = locked.id AND NOT target.fresh"""
    else:
        lock = """
            UPDATE imp_target SET
                was = (SELECT lead.status FROM raw_leads AS lead
                       WHERE lead.id = imp_target.lead_id),
                lead_first = (SELECT min(other.first) FROM imp_target AS other
                              WHERE other.lead_id = imp_target.lead_id AND NOT other.fresh)
            WHERE NOT fresh"""
    merged = ",\n                ".join(_merged_values(d))
    return {
        "replays": [
            """
            UPDATE imp_stage AS staged SET replayed = TRUE FROM lead_intakes AS intake
            WHERE intake.channel = CAST(:channel AS text) AND intake.channel_ref = staged.ref"""
        ],
        "targets": [
            """
            INSERT INTO imp_target (grp, first, phone, email, alt)
            SELECT grp, min(row_no), min(phone), min(email), min(phone_alt)
            FROM imp_stage WHERE NOT replayed GROUP BY grp"""
        ],
        "by_phone": [
            _match_phone("phone"),
            _match(d, "phone_alt", "phone", "IS NOT NULL"),
            _match_phone("alt"),
            _match(d, "email", "email", "IS NOT NULL"),
        ],
        # An unmatched number with an earlier unmatched group's email: the same person.
        "fold": [
            """
            UPDATE imp_target AS target SET parent = shared.grp FROM (
                SELECT email, min(grp) AS grp FROM imp_target
                WHERE lead_id IS NULL AND phone IS NOT NULL AND email IS NOT NULL
                GROUP BY email HAVING count(*) > 1) AS shared
            WHERE target.lead_id IS NULL AND target.phone IS NOT NULL
              AND target.email = shared.email AND target.grp > shared.grp"""
        ],
        "folded": [
            """
            UPDATE imp_stage AS staged SET grp = target.parent FROM imp_target AS target
            WHERE staged.grp = target.grp AND target.parent IS NOT NULL""",
            """
            UPDATE imp_target AS target SET first = folded.first FROM (
                SELECT parent, min(first) AS first FROM imp_target
                WHERE parent IS NOT NULL GROUP BY parent) AS folded
            WHERE target.grp = folded.parent AND folded.first < target.first""",
            "DELETE FROM imp_target WHERE parent IS NOT NULL",
        ],
        "new_phones": [
            _insert_new(d, with_phone=True),
            *([] if d is PG else [_mark_sqlite(with_phone=True)]),
        ],
        "unmatched_phones": [
            "SELECT count(*) FROM imp_target WHERE lead_id IS NULL AND phone IS NOT NULL"
        ],
        # A concurrent intake took the number first: merge into its lead.
        "rematch_phones": [_match_phone("phone")],
        "by_email": [
            _match(d, "email", "email", "IS NULL"),
            _insert_new(d, with_phone=False),
            *([] if d is PG else [_mark_sqlite(with_phone=False)]),
        ],
        "unmatched": ["SELECT count(*) FROM imp_target WHERE lead_id IS NULL"],
        "rematch_emails": [_match(d, "email", "email", "IS NULL")],
        "merge": [
            lock,
            f"""
            UPDATE raw_leads AS lead SET
                {merged}
            FROM ({_first_values(d, "outcome <> 'CREATED'")}) AS arrived
            WHERE lead.id = arrived.merged_into""",
        ],
        "journal": _journal(d),
        "row_tags": [
            f"""
            INSERT INTO raw_lead_tags (id, raw_lead_id, tag_id, added_by, created_at, updated_at)
            SELECT {d.uuid7}, pair.lead_id, pair.tag_id, {d.actor}, {d.now}, {d.now} FROM (
                SELECT DISTINCT arrival.lead_id, tag.id AS tag_id FROM imp_rows AS arrival
                {each_tag}
                JOIN lead_tags AS tag ON tag.name = tag_name.value AND tag.deleted_at IS NULL
                WHERE arrival.tags IS NOT NULL
            ) AS pair WHERE TRUE
            ON CONFLICT (raw_lead_id, tag_id) DO NOTHING"""
        ],
        "default_tags": [
            f"""
            INSERT INTO raw_lead_tags (id, raw_lead_id, tag_id, added_by, created_at, updated_at)
            SELECT {d.uuid7}, pair.lead_id, pair.tag_id, {d.actor}, {d.now}, {d.now} FROM (
                SELECT DISTINCT target.lead_id, tag.id AS tag_id FROM imp_target AS target
                JOIN lead_tags AS tag ON tag.name IN :default_tags AND tag.deleted_at IS NULL
            ) AS pair WHERE TRUE
            ON CONFLICT (raw_lead_id, tag_id) DO NOTHING"""
        ],
        "vendor": [
            f"""
            UPDATE vendor_leads AS vendor SET raw_lead_id = intake.raw_lead_id,
                updated_at = {d.now},
                status = CASE WHEN intake.outcome = 'CREATED' THEN 'IMPORTED' ELSE 'DUPLICATE' END
            FROM imp_stage AS staged JOIN lead_intakes AS intake
                ON intake.channel = 'VENDOR' AND intake.channel_ref = staged.ref
            WHERE vendor.id = staged.source_id"""
        ],
        "counts": [
            f"""
            SELECT coalesce(sum(CASE WHEN fresh THEN 1 ELSE 0 END), 0),
                (SELECT count(DISTINCT lead_id) FROM imp_target
                 WHERE NOT fresh AND was IN {REOPENING}),
                (SELECT count(*) FROM imp_stage WHERE replayed)
            FROM imp_target"""
        ],
        "drop": ["DROP VIEW imp_rows", "DROP TABLE imp_stage", "DROP TABLE imp_target"],
    }


def _typed(sql: str) -> Any:
    """The statement with typed parameters (ids as ids, times as aware UTC)."""
    statement = text(sql)
    typed: list[Any] = []
    if ":now" in sql:
        typed.append(bindparam("now", type_=DateTimeUTC(timezone=True)))
    for name in ("pool", "actor"):
        if f":{name}" in sql:
            typed.append(bindparam(name, type_=GUID()))
    if ":default_tags" in sql:
        typed.append(bindparam("default_tags", expanding=True))
    return statement.bindparams(*typed) if typed else statement


class _Compiled:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.create = [text(sql) for sql in _create(dialect)]
        self.steps = {name: [_typed(sql) for sql in sqls] for name, sqls in _steps(dialect).items()}


_COMPILED: dict[str, _Compiled] = {}


def _compiled(name: str) -> _Compiled:
    if name not in _COMPILED:
        _COMPILED[name] = _Compiled(PG if name == "postgresql" else SQLITE)
    return _COMPILED[name]


def _uuid7_bytes() -> bytes:
    return uuid7().bytes


_row_text = operator.attrgetter(*ROW_TEXT)


def _records(rows: list[IntakeRow], pg: bool) -> list[tuple[Any, ...]]:
    """Staged rows, in ``STAGE_COLUMNS`` order."""
    encode = msgspec.json.encode
    # Rows of one identity (the phone, or the email without a phone) group under their first
    # row: a dictionary look-up per row here instead of a window over the chunk in SQL.
    first_of: dict[str, int] = {}
    # Ids are made here, not by an SQL expression per row: a lead id for every row (used when
    # the row creates its lead), an intake id and an activity id.
    ids = uuid7_bytes_batch(3 * len(rows))
    new_id: Any = bytes.hex if pg else bytes
    return [
        (
            r.row_no,
            r.ref,
            r.source_id if pg or r.source_id is None else r.source_id.bytes,
            first_of.setdefault(r.phone or f"@{r.email}", r.row_no),
            *_row_text(r),
            encode(r.extra).decode() if r.extra else None,
            encode(r.tags).decode() if r.tags else None,
            encode(r.payload).decode(),
            new_id(ids[3 * at]),
            new_id(ids[3 * at + 1]),
            new_id(ids[3 * at + 2]),
        )
        for at, r in enumerate(rows)
    ]


async def _stage(conn: AsyncConnection, dialect: Dialect, rows: list[IntakeRow]) -> None:
    records = _records(rows, dialect is PG)
    if dialect is PG:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table("imp_stage", records=records, columns=STAGE_COLUMNS)
        return
    marks = ", ".join("?" * len(STAGE_COLUMNS))
    await conn.exec_driver_sql(
        f"INSERT INTO imp_stage ({', '.join(STAGE_COLUMNS)}) VALUES ({marks})", records
    )


async def _prepare_sqlite(conn: AsyncConnection) -> None:
    """Take SQLite's write lock first (a concurrent import waits here, not at its first write),
    and give this connection a ``mas_uuid7()`` function."""
    await conn.execute(text("UPDATE raw_leads SET version = version WHERE 0"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not getattr(driver, "_mas_uuid7", False):
        await driver.create_function("mas_uuid7", 0, _uuid7_bytes)
        driver._mas_uuid7 = True


def _texts(target: IntakeTarget) -> dict[str, Any]:
    channel = target.channel.value.lower()
    return {
        "channel": target.channel.value,
        "source": target.source.value,
        "detail": target.source_detail,
        "pool": target.pool_head_id,
        "actor": target.actor_id,
        "created_text": f"Lead created ({channel}: {target.label})"[:500],
        "merged_text": f"Re-inquiry through {channel} ({target.label})"[:500],
    }


async def write_chunk(
    conn: AsyncConnection,
    target: IntakeTarget,
    rows: list[IntakeRow],
    rejected: list[RejectedRow],
    now: datetime,
) -> ChunkOutcome:
    """Apply the merge rules to ``rows`` inside the connection's transaction (see the module)."""
    compiled = _compiled(conn.dialect.name)
    try:
        if compiled.dialect is SQLITE:
            await _prepare_sqlite(conn)
        outcome = ChunkOutcome()
        if rows:
            outcome = await _apply(conn, compiled, target, rows, now)
        await _reject(conn, target, rejected, now)
    except IntegrityError as exc:
        raise WriteConflict(f"a unique index refused a write: {exc.orig}") from exc
    except DBAPIError as exc:
        if _is_race(exc):
            raise WriteConflict(f"lost a race: {exc.orig}") from exc
        raise
    outcome.rejected = dict(Counter(r.reason for r in rejected))
    return outcome


# The file's size now against its size at the last ANALYZE: no lag, unlike the stats counters.
_GROWN = text(
    "SELECT relname FROM pg_class WHERE relname IN :tables AND oid = to_regclass(relname) "
    "AND pg_relation_size(oid) / 8192 > 2 * greatest(relpages, 64)"
).bindparams(bindparam("tables", expanding=True))


async def _refresh_statistics(conn: AsyncConnection, tables: list[str]) -> None:
    """ANALYZE the tables an import matches against once they have doubled in size since their
    last statistics. A first import into an empty pool grows ``raw_leads`` from nothing within
    minutes, before autovacuum looks; planned as if still empty, a match against it becomes a
    scan of the whole table per row instead of an index look-up."""
    for (table,) in (await conn.execute(_GROWN, {"tables": tables})).all():
        await conn.execute(text(f"ANALYZE {table}"))


def _is_race(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL SQLSTATE 40P01 / 40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "deadlock" in str(exc.orig).lower()


async def _apply(
    conn: AsyncConnection,
    compiled: _Compiled,
    target: IntakeTarget,
    rows: list[IntakeRow],
    now: datetime,
) -> ChunkOutcome:
    steps = compiled.steps
    params = {**_texts(target), "now": now}

    async def run(name: str) -> Any:
        result = None
        for statement in steps[name]:
            result = await conn.execute(statement, params)
        return result

    if compiled.dialect is PG:
        # lead_intakes is read only by the replay check of a resumed run.
        tables = ["raw_leads", "lead_intakes"] if target.may_replay else ["raw_leads"]
        await _refresh_statistics(conn, tables)
    for statement in compiled.create:
        await conn.execute(statement)
    await _stage(conn, compiled.dialect, rows)
    if target.may_replay:
        await run("replays")
    await run("targets")
    await run("by_phone")
    if (await run("fold")).rowcount:
        await run("folded")
    await run("new_phones")
    if (await run("unmatched_phones")).scalar_one():
        await run("rematch_phones")
        if (await run("unmatched_phones")).scalar_one():
            raise WriteConflict("a new number was taken by a concurrent intake and then left")
    await run("by_email")
    if (await run("unmatched")).scalar_one():
        await run("rematch_emails")
        if (await run("unmatched")).scalar_one():
            raise WriteConflict("a new email was taken by a concurrent intake and then left")
    await run("merge")
    await run("journal")
    if any(r.tags for r in rows):
        await run("row_tags")
    if target.default_tags:
        await conn.execute(
            steps["default_tags"][0], {**params, "default_tags": target.default_tags}
        )
    if target.channel is IntakeChannel.VENDOR:
        await run("vendor")
    created, reopened, replayed = (await run("counts")).one()
    await run("drop")
    return ChunkOutcome(
        created=created,
        merged=len(rows) - replayed - created,
        reopened=reopened,
        replayed=replayed,
    )


async def _reject(
    conn: AsyncConnection, target: IntakeTarget, rejected: list[RejectedRow], now: datetime
) -> None:
    if not rejected:
        return
    if target.channel is IntakeChannel.VENDOR:
        by_reason: dict[str, list[uuid.UUID]] = {}
        for row in rejected:
            if row.source_id is not None:
                by_reason.setdefault(row.reason, []).append(row.source_id)
        table = Base.metadata.tables["vendor_leads"]
        for reason, ids in by_reason.items():
            await conn.execute(
                table.update()
                .where(table.c.id.in_(ids), table.c.status == "RECEIVED")
                .values(status="REJECTED", reject_reason=reason, updated_at=now)
            )
        return
    if target.batch_id is None:
        return
    table = Base.metadata.tables["lead_import_rows"]
    values = [
        {
            "id": uuid7(),
            "batch_id": target.batch_id,
            "row_no": row.row_no,
            "raw": row.raw,
            "errors": row.reasons,
            "outcome": "REJECTED",
            "created_at": now,
            "updated_at": now,
        }
        for row in rejected
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(insert(table).on_conflict_do_nothing(), values)
