"""The reports part's task handlers (they take the part's services)."""

from __future__ import annotations

import logging
from typing import Any

from mas.core.finance.reports.services import ReportServices
from mas.core.finance.reports.tasks import BUILD_EXPORT, EXPIRE_EXPORTS, ExportRef
from mas.core.platform.tasking import Handler, NoArgs, Task

log = logging.getLogger("mas.finance.exports")


async def build_export(reports: ReportServices, ref: ExportRef) -> None:
    """Build an export's workbook, encrypt it with the requester's password, store it."""
    await reports.exports.build(ref.export_id)


async def export_dead(reports: ReportServices, ref: ExportRef) -> None:
    """The last attempt failed: the export is FAILED and its sealed password wiped."""
    await reports.exports.fail(ref.export_id)


async def expire_exports(reports: ReportServices, _: NoArgs) -> None:
    """Expire READY exports past their seven days and delete their files."""
    expired = await reports.exports.expire()
    log.info("finance.exports_expired", extra={"expired": expired})


HANDLERS: list[Handler[ReportServices, Any]] = [
    Handler(BUILD_EXPORT, build_export, on_dead=export_dead),
    Handler(EXPIRE_EXPORTS, expire_exports),
]
CRONS: dict[Task[Any], str] = {EXPIRE_EXPORTS: "20 3 * * *"}
