"""The CRM's access declarations: its route policies, the SALES_HEAD pages it declares (an
admin grants them per head; identity stores the grant; a route names the one it needs in
``opt["page"]``), the CRM profile flag behind each page, and its vendor key scopes.

A SALES_HEAD passes a page only with both switches on: the identity permission (the page key,
403 ``page_forbidden``) and the flag of their CRM profile (403 ``page_disabled``). A route's one
declaration decides both: ``opt["page"]`` names the key, and the flag is the page's default
below unless the route names its own in ``opt["flag"]`` (``crm.leads`` defaults to ``leads``,
but its CSV export needs ``export``). The HTTP guard runs both checks through the hook the CRM's
manifest declares (``PageSwitches.require``), on ``/api/crm`` and ``/api/sales/crm`` alike; other
roles a route's policy admits (SALES on their own routes) are not gated, ADMIN passes.
"""

from __future__ import annotations

from mas.core.identity.policy import Guard, Role

POLICIES: dict[str, Guard] = {
    "sales": Guard(frozenset({Role.SALES, Role.SALES_HEAD})),
    "sales_head": Guard(frozenset({Role.SALES_HEAD})),
}

SALES_HEAD_PAGES = frozenset(
    {
        "crm.leads",
        "crm.assignment",
        "crm.approvals",
        "crm.targets",
        "crm.leaderboard",
        "crm.imports",
        "crm.team",
        "crm.analytics",
    }
)

PAGE_DEFAULT_FLAG: dict[str, str | None] = {
    "crm.leads": "leads",
    "crm.assignment": "assign",
    "crm.approvals": "bulk_assign",
    "crm.targets": "targets",
    "crm.leaderboard": "targets",
    "crm.imports": "import",
    "crm.analytics": "analytics",
    # The profile has no flag for the team page: the identity permission alone gates it.
    "crm.team": None,
}
"""Each page's CRM profile flag (``page_flags``), unless a route names its own (``opt["flag"]``)."""


def flag_of(page: str, route_flag: str | None = None) -> str | None:
    """The profile flag a route of ``page`` needs: its own, else the page's default."""
    return route_flag or PAGE_DEFAULT_FLAG[page]


VENDOR_SCOPES = frozenset({"leads:write", "leads:read"})
"""What a vendor API key may be granted: push leads (``leads:write``), read them back."""
