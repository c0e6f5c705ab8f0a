"""Implementations of the ``Storage`` port, and the choice between them (``MAS_STORAGE``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mas.core.platform.ports.storage import Storage

if TYPE_CHECKING:
    from mas.settings import Settings


def build_storage(settings: Settings) -> Storage:
    """``local`` (the embedded default): a folder, presigned URLs served by our own API;
    ``s3``: a bucket (``MAS_S3_*``)."""
    if settings.storage == "s3":
        from mas.adapters.storage.s3 import S3Storage

        return S3Storage(
            settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    from mas.adapters.storage.local import LocalStorage, signing_key

    return LocalStorage(
        settings.storage_dir,
        base_url=settings.public_base_url,
        signing_key=signing_key(settings.effective_jwt_secret),
    )
