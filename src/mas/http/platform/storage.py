"""The local folder's presigned URLs (``mas.adapters.storage.local``): the embedded default
serves downloads and takes multipart parts itself, where S3 would.

Both routes are public: the URL's ``sig`` (an HMAC of what it allows and its ``exp``) is the
authorisation, checked before the storage is touched, so a guessed URL learns nothing (403, the
same answer for a key that exists and one that does not). Under ``MAS_STORAGE=s3`` presigned
URLs point at the bucket and these routes answer 404.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.params import PathParameter, QueryParameter

from mas.adapters.storage.local import LocalStorage
from mas.core.platform.errors import NotFound
from mas.core.platform.ports.storage import MAX_PART_NUMBER

MAX_PART_BYTES = 64 * 1024 * 1024
"""The largest part the local folder takes (S3 allows 5 GiB; browsers send 5-10 MiB parts)."""

Expiry = Annotated[
    int, QueryParameter(ge=0, le=2**40, description="Unix time the URL stops working at")
]
Signature = Annotated[
    str, QueryParameter(min_length=1, max_length=64, description="the URL's HMAC signature")
]
# Litestar checks a ``path`` parameter's length with its leading "/": 1025 enforces a
# 1024-character key (``check_key``'s limit), which is what the document states.
Key = Annotated[
    str,
    PathParameter(
        max_length=1025,
        schema_extra={"max_length": 1024},
        description="the stored file's key (a relative path)",
    ),
]
UploadId = Annotated[str, PathParameter(min_length=1, max_length=64)]
PartNumber = Annotated[
    int, QueryParameter(ge=1, le=MAX_PART_NUMBER, description="the part, 1..10000")
]

SIGNED = {
    "bad_signature": "the URL's signature does not match what it asks for",
    "url_expired": "the URL's exp has passed",
}


class PartStored(msgspec.Struct):
    etag: str
    """The part's etag (also the ``ETag`` header), for completing the upload."""


def _local(request: Request[Any, Any, Any]) -> LocalStorage:
    storage = request.app.state.container.storage
    if not isinstance(storage, LocalStorage):
        raise NotFound("this server's storage does not serve files itself")
    return storage


class StorageController(Controller):
    path = "/api/storage"
    tags = ["platform"]

    @get(
        "/objects/{key:path}",
        operation_id="downloadStoredFile",
        summary="A stored file, through a presigned URL (local storage)",
        media_type="application/octet-stream",
        opt={"public": True, "rules": SIGNED, "rules_status": 403},
    )
    async def download(
        self, request: Request[Any, Any, Any], key: Key, exp: Expiry, sig: Signature
    ) -> Response[bytes]:
        key = key.removeprefix("/")
        storage = _local(request)
        storage.verify_get(key, exp, sig)
        content = await storage.get(key)
        media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        return Response(
            content,
            media_type=media_type,
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

    @put(
        "/uploads/{upload_id:str}/parts",
        operation_id="uploadStoredPart",
        summary="One part of a multipart upload, through a presigned URL (local storage)",
        status_code=200,
        request_max_body_size=MAX_PART_BYTES,
        opt={"public": True, "rules": SIGNED, "rules_status": 403},
    )
    async def upload_part(
        self,
        request: Request[Any, Any, Any],
        upload_id: UploadId,
        part_number: PartNumber,
        exp: Expiry,
        sig: Signature,
    ) -> Response[PartStored]:
        storage = _local(request)
        storage.verify_part(upload_id, part_number, exp, sig)
        etag = await storage.write_part(upload_id, part_number, await request.body())
        return Response(PartStored(etag=etag), headers={"ETag": etag})
