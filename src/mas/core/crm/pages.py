"""The SALES_HEAD pages the CRM declares: an admin grants them per head (identity stores the
grant), and a route names the one it needs in ``opt["page"]``."""

from __future__ import annotations

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
