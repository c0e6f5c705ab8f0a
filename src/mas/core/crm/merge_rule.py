"""The merge rule, declared once: what a re-inquiry does to the lead it matches (spec §5).

``MERGE_RULES`` gives every field an intake brings (``IncomingLead``'s) its rule, in the order a
lead reads them; a lost lead reopens (``REOPENS``). Two implementations follow the table:
``merge`` below, for one arrival at a time, and the set-based import, whose UPDATE
(``mas.adapters.db.crm.bulk_merge_sql``) is generated from it. A test feeds both the same cases and
holds their results equal (``tests/integration/test_crm_merge_rule.py``).

Owner and assignees are not fields of an intake: a re-inquiry cannot move a lead between pools.
When several rows of one import chunk merge into one lead, the set-based side takes, per field,
the first row that has a value, as arriving one after the other would; two things differ:
``extra_data`` comes from the first row that has any, and a second number is the first
alternate phone among the rows, else the highest of their other numbers.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from mas.core.crm.model import LOST, IncomingLead, Lead, LeadStatus


class MergeRule(enum.Enum):
    KEEP = "keep"
    """A re-inquiry never changes it."""
    FILL_EMPTY = "fill_empty"
    """An empty field takes the incoming value; a set one keeps its own."""
    SECOND_NUMBER = "second_number"
    """An empty alternate phone takes the incoming number (the alternate first, then the main
    one) that differs from the lead's main phone: a prospect's second number is not lost."""
    ADD_KEYS = "add_keys"
    """Keys the lead does not have are added; its own keys keep their values."""
    UNION = "union"
    """Both sets together."""


MAIN_PHONE = "phone_e164"
"""The phone a ``SECOND_NUMBER`` must differ from."""

MERGE_RULES: dict[str, MergeRule] = {
    "name": MergeRule.KEEP,
    MAIN_PHONE: MergeRule.FILL_EMPTY,
    "email": MergeRule.FILL_EMPTY,
    "phone_alt": MergeRule.SECOND_NUMBER,
    "city": MergeRule.FILL_EMPTY,
    "state": MergeRule.FILL_EMPTY,
    "course_interest": MergeRule.FILL_EMPTY,
    "session_year": MergeRule.FILL_EMPTY,
    "extra_data": MergeRule.ADD_KEYS,
    "tags": MergeRule.UNION,
}

REOPENS = LOST
"""A re-inquiry moves a lead in one of these statuses back to ``REOPENED_AS``, and clears its
lost_reason; every re-inquiry counts one more in ``reinquiry_count``."""
REOPENED_AS = LeadStatus.NEW

CONTACT_FIELDS = tuple(name for name in MERGE_RULES if name not in ("extra_data", "tags"))
"""The lead's contact fields in the order a lead reads them (name, phones, email, …)."""


class MergeResult(msgspec.Struct, frozen=True):
    filled: list[str]
    reopened: bool
    new_tags: list[str]


def _empty(value: Any) -> bool:
    return value is None or value == ""


def keep_second_number(lead: Lead, incoming: IncomingLead) -> None:
    """A re-inquiry from another number brings it as its alternate phone.

    Without this a merge (which fills only empty fields) would drop a number the prospect gave.
    An incoming alternate that is the lead's own main phone is no second number.
    """
    number, main = incoming.phone_e164, lead.phone_e164
    if not number or not main or number == main:
        return
    if incoming.phone_alt in (None, "", main) and lead.phone_alt in (None, "", number):
        incoming.phone_alt = number


def merge(lead: Lead, incoming: IncomingLead) -> MergeResult:
    """Apply ``MERGE_RULES`` to ``lead``: what was filled, whether it reopened, the new tags."""
    keep_second_number(lead, incoming)
    main = incoming.phone_e164 if _empty(lead.phone_e164) else lead.phone_e164
    filled: list[str] = []
    new_tags: list[str] = []
    for name, rule in MERGE_RULES.items():
        mine, theirs = getattr(lead, name), getattr(incoming, name)
        if rule is MergeRule.ADD_KEYS:
            setattr(lead, name, {**mine, **{k: v for k, v in theirs.items() if k not in mine}})
        elif rule is MergeRule.UNION:
            new_tags = sorted(set(theirs) - set(mine))
            setattr(lead, name, sorted(set(mine) | set(theirs)))
        elif rule is not MergeRule.KEEP and _empty(mine) and not _empty(theirs):
            if rule is MergeRule.SECOND_NUMBER and (_empty(main) or theirs == main):
                continue
            setattr(lead, name, theirs)
            filled.append(name)
    lead.reinquiry_count += 1
    reopened = lead.status in REOPENS
    if reopened:
        lead.status = REOPENED_AS
        lead.lost_reason = None
    return MergeResult(filled, reopened, new_tags)
