"""Blob storage on S3 (or anything speaking its API: MinIO, moto in the tests).

Client: **boto3**, AWS's own SDK, called through ``asyncio.to_thread``. Chosen over
``aiobotocore``/``aioboto3`` because those pin a narrow range of ``botocore`` releases (each
aiobotocore release patches botocore internals), which holds back botocore/boto3 security and
region updates and clashes with other packages that require a newer boto3 (moto, in our tests);
they also bring aiohttp as a second HTTP stack beside httpx. boto3 clients are thread-safe, our
calls are few and coarse (one per upload step, not per byte: the browser PUTs the parts to
presigned URLs directly), so a worker thread per call costs nothing that matters. Presigning
is local computation (SigV4 over the URL), done without a thread and without a network call.

Errors: a missing object or upload is ``NotFound``; parts S3 refuses to join are
``ValidationFailed``; throttling, 5xx and connection failures are ``ExternalUnavailable``
(transient, retried by the task runner); any other refusal (no such bucket, access denied) is
``UpstreamRejected``. Without ``MAS_S3_BUCKET`` every call is ``NotConfigured`` (503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from mas.adapters.storage.keys import check_expiry, check_key, check_part_number, check_parts
from mas.core.platform.errors import (
    ExternalUnavailable,
    NotConfigured,
    NotFound,
    UpstreamRejected,
    ValidationFailed,
)

T = TypeVar("T")

_MISSING = {"NoSuchKey", "NotFound", "404"}
_NO_UPLOAD = {"NoSuchUpload"}
_BAD_PARTS = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML"}
_TRANSIENT = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
}


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        region: str = "",
        endpoint_url: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        client: Any = None,
    ) -> None:
        self._bucket = bucket
        if client is None:
            config = Config(
                signature_version="s3v4",
                # A custom endpoint (MinIO, moto) has no per-bucket host names.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
            )
            client = boto3.session.Session().client(
                "s3",
                region_name=region or None,
                endpoint_url=endpoint_url or None,
                # Empty → boto's own chain (environment, instance role).
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        self._client = client

    async def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        check_key(key)
        await self._call(
            self._client.put_object,
            Bucket=self._need_bucket(),
            Key=key,
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        check_key(key)
        bucket = self._need_bucket()

        def read() -> bytes:
            answer = self._client.get_object(Bucket=bucket, Key=key)
            body = answer["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        try:
            return await self._call(read)
        except NotFound:
            raise NotFound(f"no stored file at '{key}'") from None

    async def exists(self, key: str) -> bool:
        check_key(key)
        try:
            await self._call(self._client.head_object, Bucket=self._need_bucket(), Key=key)
        except NotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        """S3 answers 204 for a missing key too: deleting twice is not an error."""
        check_key(key)
        await self._call(self._client.delete_object, Bucket=self._need_bucket(), Key=key)

    async def presign_get(self, key: str, expires_s: int) -> str:
        check_key(key)
        return self._presign(
            "get_object", {"Bucket": self._need_bucket(), "Key": key}, check_expiry(expires_s)
        )

    async def start_multipart(self, key: str, content_type: str) -> str:
        check_key(key)
        answer = await self._call(
            self._client.create_multipart_upload,
            Bucket=self._need_bucket(),
            Key=key,
            ContentType=content_type,
        )
        return str(answer["UploadId"])

    async def presign_part(self, key: str, upload_id: str, part_number: int, expires_s: int) -> str:
        check_key(key)
        check_part_number(part_number)
        if not upload_id:
            raise ValidationFailed("an upload id is required")
        params = {
            "Bucket": self._need_bucket(),
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": part_number,
        }
        return self._presign("upload_part", params, check_expiry(expires_s))

    async def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str]]
    ) -> None:
        check_key(key)
        check_parts(parts)
        await self._call(
            self._client.complete_multipart_upload,
            Bucket=self._need_bucket(),
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        check_key(key)
        try:
            await self._call(
                self._client.abort_multipart_upload,
                Bucket=self._need_bucket(),
                Key=key,
                UploadId=upload_id,
            )
        except NotFound:
            return  # already completed or aborted: gone, as asked

    def _need_bucket(self) -> str:
        if not self._bucket:
            raise NotConfigured("S3 storage (MAS_S3_BUCKET)")
        return self._bucket

    def _presign(self, operation: str, params: dict[str, Any], expires_s: int) -> str:
        try:
            return str(
                self._client.generate_presigned_url(operation, Params=params, ExpiresIn=expires_s)
            )
        except BotoCoreError as exc:  # no credentials found, a bad parameter
            raise NotConfigured(f"S3 presigning ({type(exc).__name__})") from exc

    async def _call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(fn, **kwargs)
        except ClientError as exc:
            raise _mapped(exc) from exc
        except BotoCoreError as exc:  # connection refused, timeouts, no credentials
            raise ExternalUnavailable(f"S3 is unreachable: {type(exc).__name__}") from exc


def _mapped(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = str(error.get("Message", "")) or code
    if code in _MISSING or code in _NO_UPLOAD or (status == 404 and code != "NoSuchBucket"):
        what = "upload" if code in _NO_UPLOAD else "object"
        return NotFound(f"no such {what} in storage ({code})")
    if code in _BAD_PARTS:
        return ValidationFailed(f"S3 refused the parts: {message}", code="invalid_part")
    if code in _TRANSIENT or status == 429 or status >= 500:
        return ExternalUnavailable(f"S3 is unavailable ({code or status}): {message}")
    return UpstreamRejected(f"S3 refused the request ({code or status}): {message}")
