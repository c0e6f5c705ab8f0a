"""Cron schedules (Asia/Kolkata unless ``MAS_TIMEZONE`` says otherwise).

``MAS_CRON_OVERRIDES`` (JSON) changes an entry or turns it ``"off"``; croniter's optional sixth
field is seconds, which the tests use.
"""

from __future__ import annotations

CRONS: dict[str, str] = {
    "comms.dispatch_outbox": "* * * * *",
    "events.relay_outbox": "* * * * *",
    "jobs.reap_stuck": "*/5 * * * *",
    "auth.purge_expired": "0 3 * * *",
    "crm.follow_up_missed": "*/15 * * * *",
    "crm.follow_up_digest": "30 8 * * *",
    "crm.sweep_campaign_leads": "*/5 * * * *",
    "crm.expire_requests": "7 * * * *",
    "crm.stuck_requests": "*/10 * * * *",
    "crm.rollup_target_actuals": "*/15 * * * *",
}


def effective(overrides: dict[str, str]) -> dict[str, str]:
    merged = {**CRONS, **overrides}
    return {name: expr for name, expr in merged.items() if expr.strip().lower() != "off"}
