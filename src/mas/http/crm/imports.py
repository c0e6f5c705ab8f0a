"""Lead imports over HTTP: ``/api/crm/imports`` (CSV upload → preview → mapping → commit →
progress → error CSV), the vendor pull ``/api/crm/leads/import-vendor``, the admin's
vendor-to-pool assignment, and the vendor's own ``POST /api/vendor/leads``.

An upload is at most 10 MB (a larger body is refused with 413 before it is read whole) and
50,000 rows (422); ``mas leads import`` has no cap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, JSONBody

from mas.core.crm.import_engine import rows_done
from mas.core.crm.import_rules import MAX_UPLOAD_BYTES
from mas.core.crm.model import ImportBatch
from mas.core.crm.ports.imports import VendorLeadIn
from mas.core.crm.vendor_intake import MAX_PUSH, PullRequested, PushResult, VendorPool
from mas.http.crm import Crm, CrmController
from mas.http.params import CallerDep

IMPORTS = {"policy": "sales_head", "page": "crm.imports"}
# The multipart envelope (boundaries, part headers, the small fields) on top of the file.
ENVELOPE_BYTES = 64 * 1024


class ImportView(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: str
    file_name: str
    target_sales_head_id: uuid.UUID | None
    uploaded_by: uuid.UUID | None
    headers: list[str]
    column_map: dict[str, str]
    preview: list[dict[str, str]]
    default_tags: list[str]
    total_rows: int
    rows_done: int
    progress: float
    created_count: int
    merged_count: int
    rejected_count: int
    rejected_by_reason: dict[str, int]
    has_error_file: bool
    created_at: datetime
    committed_at: datetime | None
    finished_at: datetime | None
    last_error: str | None


def view(batch: ImportBatch) -> ImportView:
    done = rows_done(batch)
    return ImportView(
        id=batch.id,
        status=batch.status.value,
        file_name=batch.file_name,
        target_sales_head_id=batch.target_sales_head_id,
        uploaded_by=batch.uploaded_by,
        headers=batch.headers,
        column_map=batch.column_map,
        preview=batch.preview,
        default_tags=batch.default_tags,
        total_rows=batch.total_rows,
        rows_done=done,
        progress=round(min(done / batch.total_rows, 1.0), 4) if batch.total_rows else 0.0,
        created_count=batch.created_count,
        merged_count=batch.merged_count,
        rejected_count=batch.rejected_count,
        rejected_by_reason=batch.rejected_by_reason,
        has_error_file=batch.rejected_count > 0,
        created_at=batch.created_at,
        committed_at=batch.committed_at,
        finished_at=batch.finished_at,
        last_error=batch.last_error,
    )


@dataclass
class UploadForm:
    file: UploadFile
    target_sales_head_id: uuid.UUID | None = None
    force: bool = False
    # comma-separated tag names applied to every imported lead
    tags: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class MappingBody(msgspec.Struct, forbid_unknown_fields=True):
    column_map: Annotated[
        dict[
            Annotated[str, msgspec.Meta(max_length=200)],
            Annotated[str, msgspec.Meta(max_length=40)] | None,
        ],
        msgspec.Meta(max_length=500),
    ]


class VendorPullBody(msgspec.Struct, forbid_unknown_fields=True):
    vendor_key_id: uuid.UUID | None = None


class VendorPoolBody(msgspec.Struct, forbid_unknown_fields=True):
    sales_head_id: uuid.UUID


# The vendor's request body: the core's ``VendorLeadIn``, refusing fields it does not know.
class VendorLeadBody(VendorLeadIn, forbid_unknown_fields=True, kw_only=True):
    pass


VendorLeads = Annotated[
    list[VendorLeadBody],
    msgspec.Meta(min_length=1, max_length=MAX_PUSH),
    # The document does not show a body's own bounds by itself.
    Body(
        media_type=RequestEncodingType.JSON,
        schema_extra={"min_items": 1, "max_items": MAX_PUSH},
    ),
]


class ImportController(CrmController):
    path = "/api/crm/imports"
    tags = ["crm: imports"]
    opt = IMPORTS

    @post(
        "/",
        operation_id="uploadLeadImport",
        summary="Upload a CSV (≤ 10 MB, ≤ 50,000 rows): a previewed batch with a proposed mapping",
        status_code=201,
        request_max_body_size=MAX_UPLOAD_BYTES + ENVELOPE_BYTES,
        opt={
            "rules": {
                "pool_required": "an ADMIN names the pool: target_sales_head_id",
                "not_sales_head": "target_sales_head_id names a SALES_HEAD",
                "bad_tag_name": "each of tags (comma-separated) is 2-40 letters, digits or dashes",
                "unknown_tag": "each of tags exists (an admin creates tags)",
                "too_many_rows": "the file has at most 50,000 rows",
                "not_csv": "the file is CSV text with a header row",
                "bad_encoding": "the file is UTF-8 or Windows-1252 text",
            },
            "rules_status": {"not_csv": 400, "bad_encoding": 400},
        },
    )
    async def upload(
        self,
        crm: Crm,
        caller: CallerDep,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportView:
        content = await data.file.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            raise HTTPException(
                status_code=413,
                detail=f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                "split it, or ask an operator to run `mas leads import`",
            )
        tags = [t for t in (data.tags or "").split(",") if t.strip()]
        batch = await crm.imports.upload(
            caller,
            data.file.filename or "upload.csv",
            content,
            target_sales_head_id=data.target_sales_head_id,
            force=data.force,
            tags=tags,
        )
        return view(batch)

    @get("/{batch_id:uuid}", operation_id="getLeadImport", summary="Status, counts and preview")
    async def show(self, crm: Crm, caller: CallerDep, batch_id: FromPath[uuid.UUID]) -> ImportView:
        return view(await crm.imports.get(caller, batch_id))

    @put(
        "/{batch_id:uuid}/mapping",
        operation_id="setLeadImportMapping",
        summary="Replace the column map (CSV header → lead field; null unmaps)",
    )
    async def mapping(
        self,
        crm: Crm,
        caller: CallerDep,
        batch_id: FromPath[uuid.UUID],
        data: JSONBody[MappingBody],
    ) -> ImportView:
        return view(await crm.imports.set_mapping(caller, batch_id, data.column_map))

    @post(
        "/{batch_id:uuid}/commit",
        operation_id="commitLeadImport",
        summary="Queue the import (a FAILED one is retried, skipping rows already imported)",
        status_code=202,
    )
    async def commit(
        self, crm: Crm, caller: CallerDep, batch_id: FromPath[uuid.UUID]
    ) -> ImportView:
        return view(await crm.imports.commit(caller, batch_id))

    @post(
        "/{batch_id:uuid}/retry",
        operation_id="retryLeadImport",
        summary="Run a FAILED import again from where it stopped",
        status_code=202,
    )
    async def retry(self, crm: Crm, caller: CallerDep, batch_id: FromPath[uuid.UUID]) -> ImportView:
        return view(await crm.imports.retry(caller, batch_id))

    @post(
        "/{batch_id:uuid}/cancel",
        operation_id="cancelLeadImport",
        summary="Cancel an import that was not committed",
        status_code=200,
    )
    async def cancel(
        self, crm: Crm, caller: CallerDep, batch_id: FromPath[uuid.UUID]
    ) -> ImportView:
        return view(await crm.imports.cancel(caller, batch_id))

    @get(
        "/{batch_id:uuid}/errors.csv",
        operation_id="leadImportErrors",
        summary="The rejected rows as uploaded, with row numbers and reasons",
        media_type="text/csv",
    )
    async def errors(
        self, crm: Crm, caller: CallerDep, batch_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        content = await crm.imports.errors_csv(caller, batch_id)
        return Response(
            content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{batch_id}-errors.csv"'},
        )


class VendorPullController(CrmController):
    path = "/api/crm/leads"
    tags = ["crm: imports"]
    opt = {**IMPORTS, "flag": "vendors"}

    @post(
        "/import-vendor",
        operation_id="pullVendorLeads",
        summary="Pull the RECEIVED leads of vendors assigned to this pool (403 if not assigned)",
        status_code=202,
        opt={
            "rules": {
                "vendor_key_required": "an ADMIN names the vendor: vendor_key_id",
                "vendor_not_assigned": "the vendor feeds a sales head's pool",
            }
        },
    )
    async def pull(
        self, crm: Crm, caller: CallerDep, data: JSONBody[VendorPullBody]
    ) -> list[PullRequested]:
        return await crm.vendor_leads.request_pull(caller, data.vendor_key_id)


class VendorPoolController(CrmController):
    path = "/api/admin/vendor-keys"
    tags = ["admin: vendors"]
    opt = {"policy": "admin"}

    @put(
        "/{key_id:uuid}/sales-head",
        operation_id="assignVendorPool",
        summary="Send a vendor's leads to this sales head's pool",
        opt={"rules": {"not_sales_head": "sales_head_id names a SALES_HEAD"}},
    )
    async def assign(
        self,
        crm: Crm,
        caller: CallerDep,
        key_id: FromPath[uuid.UUID],
        data: JSONBody[VendorPoolBody],
    ) -> VendorPool:
        return await crm.vendor_leads.assign_head(caller, key_id, data.sales_head_id)


class VendorLeadsController(CrmController):
    path = "/api/vendor"
    tags = ["vendor"]

    @post(
        "/leads",
        operation_id="pushVendorLeads",
        summary="Send up to 500 leads; idempotent on external_id (a known one is a duplicate)",
        status_code=202,
        opt={"vendor_scope": "leads:write"},
    )
    async def push(
        self, crm: Crm, request: Request[Any, Any, Any], data: VendorLeads
    ) -> PushResult:
        vendor = request.scope["state"]["vendor"]
        return await crm.vendor_leads.push(vendor.key_id, list(data))
