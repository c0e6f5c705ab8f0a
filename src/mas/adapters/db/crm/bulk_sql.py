"""The statements of each step of the set-based lead intake (``bulk_leads`` runs them), built
once per dialect from the staged row and the merge rule (``bulk_merge_sql``) and kept compiled.
"""

from __future__ import annotations

from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import bindparam, text

from mas.adapters.db.crm.bulk_merge_sql import (
    JSON_FIELDS,
    NEW,
    PG,
    REOPENING,
    REQUIRED,
    ROW_TEXT,
    SQLITE,
    WRITTEN,
    Dialect,
    first_values,
    merged_values,
    new_value,
)
from mas.core.crm.merge_rule import REOPENED_AS

PHONE_ARBITER = "(phone_e164) WHERE deleted_at IS NULL AND phone_e164 IS NOT NULL"
EMAIL_ARBITER = "(email) WHERE deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"


def _rows_select() -> str:
    """Each row with its lead and outcome: the first row of a new lead CREATED it, the first
    row merged into a lost lead REOPENED it, every other row MERGED (``imp_rows``)."""
    row_values = ", ".join(f"staged.{name}" for name in (*ROW_TEXT, *JSON_FIELDS))
    return f"""
            SELECT staged.row_no, staged.ref, {row_values}, staged.payload, staged.intake_id,
                staged.activity_id, target.lead_id, target.was, target.main,
                CASE WHEN target.fresh AND staged.row_no = target.first THEN 'CREATED'
                    WHEN NOT target.fresh AND staged.row_no = target.lead_first
                        AND target.was IN {REOPENING} THEN 'REOPENED'
                    ELSE 'MERGED' END AS outcome
            FROM imp_stage AS staged JOIN imp_target AS target ON target.grp = staged.grp
            WHERE NOT staged.replayed"""


def _create(d: Dialect) -> list[str]:
    """The chunk's work tables. PostgreSQL: made once per connection and emptied at each
    commit (no catalog writes per chunk, which two writers at once would queue on), emptied
    here too for a chunk inside a longer transaction; ``imp_rows`` is a CTE of the statements
    that read it. SQLite: made per chunk, with ``imp_rows`` a view, and dropped after it."""
    row_text = ", ".join(
        f"{name} text{' NOT NULL' if name in REQUIRED else ''}" for name in ROW_TEXT
    )
    json_text = ", ".join(f"{name} text" for name in JSON_FIELDS)
    create = "CREATE TEMP TABLE IF NOT EXISTS" if d is PG else "CREATE TEMP TABLE"
    statements = [
        f"""{create} imp_stage (
            row_no integer PRIMARY KEY, ref text NOT NULL, source_id {d.uuid}, grp integer NOT NULL,
            {row_text}, {json_text}, payload text NOT NULL,
            lead_new {d.uuid} NOT NULL, intake_id {d.uuid} NOT NULL, activity_id {d.uuid} NOT NULL,
            replayed boolean NOT NULL DEFAULT FALSE) {d.temp}""",
        f"""{create} imp_target (
            grp integer PRIMARY KEY, first integer NOT NULL, phone text, email text, alt text,
            lead_id {d.uuid}, fresh boolean NOT NULL DEFAULT FALSE, parent integer, was text,
            lead_first integer, main text) {d.temp}""",
    ]
    if d is PG:
        statements += ["DELETE FROM imp_stage", "DELETE FROM imp_target"]
    else:
        statements += [
            f"CREATE TEMP VIEW imp_rows AS {_rows_select()}",
            "CREATE INDEX temp.imp_stage_grp ON imp_stage (grp)",
            "CREATE INDEX temp.imp_target_email ON imp_target (email)",
            "CREATE INDEX temp.imp_target_lead ON imp_target (lead_id)",
        ]
    return statements


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
        SELECT staged.lead_new, {", ".join(new_value(d, field) for field in WRITTEN)},
            CAST(:source AS text), CAST(:detail AS text), {NEW}, {d.pool}, 0, 0, {d.now},
            {d.now}, {d.now}
        FROM imp_target AS target JOIN imp_stage AS staged ON staged.row_no = target.first
        WHERE target.lead_id IS NULL AND target.phone {phone_filter}
        ORDER BY target.{key}
        ON CONFLICT {PHONE_ARBITER if with_phone else EMAIL_ARBITER} DO NOTHING"""
    if d is PG:
        return f"""
            WITH inserted AS ({insert} RETURNING id, {column})
            UPDATE imp_target AS target SET lead_id = inserted.id, fresh = TRUE,
                main = target.phone FROM inserted
            WHERE target.lead_id IS NULL AND target.phone {phone_filter}
              AND target.{key} = inserted.{column}"""
    # SQLite has one writer: every unmatched target was inserted just now.
    return insert


def _mark_sqlite(with_phone: bool) -> str:
    if with_phone:
        return """
            UPDATE imp_target SET fresh = TRUE, main = phone, lead_id = (
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


def _journal_first_run() -> str:
    """PostgreSQL, a batch's first run (no row can have its intake yet): one intake per row and
    its activities, straight from the rows. A concurrent run of the same batch makes the unique
    index refuse an intake: the chunk is retried, and the batch's job resumes with replays."""
    return f"""
        WITH intakes AS (
            INSERT INTO lead_intakes (id, raw_lead_id, channel, channel_ref, outcome, payload,
                created_at, updated_at)
            SELECT intake_id, lead_id, CAST(:channel AS text), ref, outcome,
                {PG.as_json("payload")}, {PG.now}, {PG.now}
            FROM imp_rows)
        INSERT INTO lead_activities (id, raw_lead_id, actor_id, type, summary, data,
            occurred_at, created_at, updated_at)
        SELECT activity_id, lead_id, {PG.actor},
            CASE WHEN outcome = 'CREATED' THEN 'CREATED' ELSE 'INTAKE_MERGED' END,
            CASE WHEN outcome = 'CREATED' THEN CAST(:created_text AS text)
                ELSE CAST(:merged_text AS text) END,
            jsonb_build_object('channel', CAST(:channel AS text), 'channel_ref', ref,
                'source', CAST(:source AS text)),
            {PG.now}, {PG.now}, {PG.now}
        FROM imp_rows
        UNION ALL
        SELECT {PG.uuid7}, lead_id, {PG.actor}, 'REOPENED',
            'Reopened by a re-inquiry (was ' || was || ')',
            jsonb_build_object('from', was, 'to', '{REOPENED_AS.value}', 'channel_ref', ref),
            {PG.now}, {PG.now}, {PG.now}
        FROM imp_rows WHERE outcome = 'REOPENED'"""


def _steps(d: Dialect) -> dict[str, list[str]]:
    each_tag = (
        "CROSS JOIN LATERAL jsonb_array_elements_text(CAST(arrival.tags AS jsonb)) "
        "AS tag_name(value)"
        if d is PG
        else "JOIN json_each(arrival.tags) AS tag_name"
    )
    # The leads merged into: locked in id order (PostgreSQL: concurrent imports cannot deadlock
    # on them), their status and main phone before the merge, and the first row of the chunk
    # merging into each.
    if d is PG:
        lock = """
            UPDATE imp_target AS target SET was = locked.status, lead_first = locked.first,
                main = locked.phone_e164 FROM (
                SELECT lead.id, lead.status, lead.phone_e164, firsts.first FROM raw_leads AS lead
                JOIN (SELECT lead_id, min(first) AS first FROM imp_target
                      WHERE NOT fresh GROUP BY lead_id) AS firsts ON firsts.lead_id = lead.id
                ORDER BY lead.id FOR UPDATE OF lead) AS locked
            WHERE target.lead_id = locked.id AND NOT target.fresh"""
    else:
        lock = """
            UPDATE imp_target SET
                was = (SELECT lead.status FROM raw_leads AS lead
                       WHERE lead.id = imp_target.lead_id),
                main = (SELECT lead.phone_e164 FROM raw_leads AS lead
                        WHERE lead.id = imp_target.lead_id),
                lead_first = (SELECT min(other.first) FROM imp_target AS other
                              WHERE other.lead_id = imp_target.lead_id AND NOT other.fresh)
            WHERE NOT fresh"""
    merged = ",\n                ".join(merged_values(d))
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
            FROM imp_stage WHERE NOT replayed GROUP BY grp""",
            # Work tables have no statistics of their own: planned as a handful of rows, a join
            # of two becomes a nested loop over both (10,000 x 10,000 comparisons). Counted
            # now, every later join is planned on their real size.
            *(
                [
                    "ANALYZE imp_stage (row_no)",
                    "ANALYZE imp_target (grp)",
                ]
                if d is PG
                else []
            ),
        ],
        "by_phone": [
            _match_phone("phone"),
            _match(d, "phone_alt", "phone", "IS NOT NULL"),
            _match_phone("alt"),
            _match(d, "email", "email", "IS NOT NULL"),
        ],
        # An unmatched number with an earlier unmatched group's email: the same person. So is
        # an unmatched number that is another unmatched group's alternate, or whose alternate
        # is another's number (a later chunk would match it to that group's lead): the later
        # group joins the earlier. Groups already joined by email keep that.
        "fold": [
            """
            UPDATE imp_target AS target SET parent = shared.grp FROM (
                SELECT email, min(grp) AS grp FROM imp_target
                WHERE lead_id IS NULL AND phone IS NOT NULL AND email IS NOT NULL
                GROUP BY email HAVING count(*) > 1) AS shared
            WHERE target.lead_id IS NULL AND target.phone IS NOT NULL
              AND target.email = shared.email AND target.grp > shared.grp""",
            f"""
            UPDATE imp_target AS target SET parent = linked.parent FROM (
                SELECT child, min(parent) AS parent FROM (
                    SELECT {d.greatest}(one.grp, other.grp) AS child,
                        {d.least}(one.grp, other.grp) AS parent
                    FROM imp_target AS one JOIN imp_target AS other ON other.phone = one.alt
                    WHERE one.lead_id IS NULL AND other.lead_id IS NULL
                      AND one.phone IS NOT NULL AND one.grp <> other.grp
                      AND one.parent IS NULL AND other.parent IS NULL) AS pairs
                GROUP BY child) AS linked
            WHERE target.grp = linked.child AND target.parent IS NULL
              AND target.grp NOT IN (
                  SELECT parent FROM imp_target WHERE parent IS NOT NULL)""",
        ],
        # Whether any unmatched number has an alternate (most files have none): only then are
        # the work table's statistics read, so the alternates' join is planned on real counts.
        "alternates": [
            """
            SELECT EXISTS (SELECT 1 FROM imp_target
                WHERE lead_id IS NULL AND phone IS NOT NULL AND alt IS NOT NULL)"""
        ],
        "analyze_targets": ["ANALYZE imp_target"],
        # One step only, as across chunks (where the alternate a lead keeps is its first): a
        # group whose number another group's alternate named stays apart when that group joined
        # a third.
        "fold_one_step": [
            """
            UPDATE imp_target SET parent = NULL
            WHERE parent IN (SELECT grp FROM imp_target WHERE parent IS NOT NULL)"""
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
            FROM ({first_values(d, "outcome <> 'CREATED'")}) AS arrived
            WHERE lead.id = arrived.merged_into""",
        ],
        "journal": _journal(d),
        "journal_first_run": [_journal_first_run()] if d is PG else _journal(d),
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
        "drop": (
            []
            if d is PG
            else ["DROP VIEW imp_rows", "DROP TABLE imp_stage", "DROP TABLE imp_target"]
        ),
    }


def _with_rows(sql: str) -> str:
    """A PostgreSQL statement that reads ``imp_rows`` with it as its first CTE."""
    if "imp_rows" not in sql:
        return sql
    rows = f"imp_rows AS ({_rows_select()})"
    body = sql.lstrip()
    if body.startswith("WITH "):
        return f"WITH {rows}, {body[5:]}"
    return f"WITH {rows} {body}"


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


class CompiledSteps:
    """A dialect's statements: ``create`` (the temporary tables) and ``steps`` by name."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.create = [text(sql) for sql in _create(dialect)]
        ctes = _with_rows if dialect is PG else str
        self.steps = {
            name: [_typed(ctes(sql)) for sql in sqls] for name, sqls in _steps(dialect).items()
        }


_COMPILED: dict[str, CompiledSteps] = {}


def compiled_steps(name: str) -> CompiledSteps:
    """The statements for the SQLAlchemy dialect ``name``, built on first use."""
    if name not in _COMPILED:
        _COMPILED[name] = CompiledSteps(PG if name == "postgresql" else SQLITE)
    return _COMPILED[name]
