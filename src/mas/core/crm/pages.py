"""The CRM's access declarations: its route policies, the SALES_HEAD pages it declares (an
admin grants them per head; identity stores the grant; a route names the one it needs in
``opt["page"]``) and its vendor key scopes."""

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

VENDOR_SCOPES = frozenset({"leads:write", "leads:read"})
"""What a vendor API key may be granted: push leads (``leads:write``), read them back."""
