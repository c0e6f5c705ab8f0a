"""S3Storage against a real moto server (PEERS.md), plus an independent check of the SigV4
query signing (moto accepts any signature, so the signature is verified here by hand)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from mas.adapters.storage.s3 import S3Storage, _mapped
from mas.core.platform.errors import (
    ExternalUnavailable,
    NotConfigured,
    NotFound,
    Transient,
    UpstreamRejected,
    ValidationFailed,
)
from tests.conftest import missing_service

REGION = "ap-south-1"
ACCESS_KEY = "AKIDEXAMPLEMAS0001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PART = 5 * 1024 * 1024  # S3's (and moto's) smallest part but the last


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    binary = shutil.which("moto_server")
    if binary is None:
        missing_service("moto_server (moto[server], a dev dependency)")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start on {url}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bucket(moto_url: str) -> str:
    name = f"mas-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    ).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def s3(moto_url: str, bucket: str) -> S3Storage:
    return S3Storage(
        bucket,
        region=REGION,
        endpoint_url=moto_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )


async def test_put_get_exists_delete(s3: S3Storage) -> None:
    await s3.put("resumes/asha.pdf", b"%PDF-1.7", "application/pdf")
    assert await s3.exists("resumes/asha.pdf")
    assert await s3.get("resumes/asha.pdf") == b"%PDF-1.7"
    await s3.delete("resumes/asha.pdf")
    assert not await s3.exists("resumes/asha.pdf")
    with pytest.raises(NotFound, match="resumes/asha.pdf"):
        await s3.get("resumes/asha.pdf")
    await s3.delete("resumes/asha.pdf")  # deleting twice is fine


async def test_keys_are_checked_like_the_local_folder(s3: S3Storage) -> None:
    for key in ("../x", "/abs", "a//b", ""):
        with pytest.raises(ValidationFailed):
            await s3.put(key, b"x")
        with pytest.raises(ValidationFailed):
            await s3.presign_get(key, 60)


async def test_presigned_get_is_fetched_with_httpx(s3: S3Storage) -> None:
    await s3.put("recordings/m 1.webm", b"webm!", "video/webm")
    url = await s3.presign_get("recordings/m 1.webm", 900)
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.content == b"webm!"
    assert answer.headers["content-type"] == "video/webm"


async def test_multipart_upload_through_presigned_part_urls(s3: S3Storage) -> None:
    key = "recordings/slot-7/meeting.webm"
    upload_id = await s3.start_multipart(key, "video/webm")
    chunks = [b"a" * PART, b"tail-bytes"]
    parts = []
    async with httpx.AsyncClient(timeout=30) as http:
        for number, chunk in enumerate(chunks, start=1):
            url = await s3.presign_part(key, upload_id, number, 600)
            answer = await http.put(url, content=chunk)
            assert answer.status_code == 200, answer.text
            parts.append((number, answer.headers["etag"]))
    assert not await s3.exists(key)
    await s3.complete_multipart(key, upload_id, parts)
    assert await s3.get(key) == b"".join(chunks)
    # S3 takes a retried completion of a finished upload (the bytes stay the same).
    await s3.complete_multipart(key, upload_id, parts)
    assert await s3.get(key) == b"".join(chunks)
    await s3.abort_multipart(key, upload_id)  # finished already: not an error


async def test_complete_with_a_wrong_etag_is_refused(s3: S3Storage) -> None:
    key = "bad.webm"
    upload_id = await s3.start_multipart(key, "video/webm")
    async with httpx.AsyncClient() as http:
        await http.put(await s3.presign_part(key, upload_id, 1, 600), content=b"one")
    with pytest.raises(ValidationFailed):
        await s3.complete_multipart(key, upload_id, [(1, '"00000000000000000000000000000000"')])
    with pytest.raises(ValidationFailed, match="ascending"):
        await s3.complete_multipart(key, upload_id, [(2, '"a"'), (1, '"b"')])
    await s3.abort_multipart(key, upload_id)
    await s3.abort_multipart(key, upload_id)  # twice: not an error


def _client_error(code: str, status: int) -> ClientError:
    answer: Any = {
        "Error": {"Code": code, "Message": f"{code} says no"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(answer, "CompleteMultipartUpload")


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        # moto answers 500 for an aborted upload; S3 answers NoSuchUpload, checked here.
        ("NoSuchUpload", 404, NotFound),
        ("NoSuchKey", 404, NotFound),
        ("InvalidPart", 400, ValidationFailed),
        ("EntityTooSmall", 400, ValidationFailed),
        ("SlowDown", 503, ExternalUnavailable),
        ("InternalError", 500, ExternalUnavailable),
        ("AccessDenied", 403, UpstreamRejected),
        ("NoSuchBucket", 404, UpstreamRejected),
    ],
)
def test_s3_errors_are_mapped(code: str, status: int, expected: type[Exception]) -> None:
    mapped = _mapped(_client_error(code, status))
    assert type(mapped) is expected
    assert isinstance(mapped, Transient) == (expected is ExternalUnavailable)


async def test_a_missing_bucket_setting_is_not_configured() -> None:
    storage = S3Storage("", region=REGION, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY)
    with pytest.raises(NotConfigured):
        await storage.put("a", b"x")
    with pytest.raises(NotConfigured):
        await storage.presign_get("a", 60)


async def test_an_unreachable_endpoint_is_unavailable() -> None:
    storage = S3Storage(
        "b",
        region=REGION,
        endpoint_url=f"http://127.0.0.1:{_free_port()}",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    with pytest.raises(ExternalUnavailable):
        await storage.get("a")


# --- the signature itself (moto does not check it) --------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _expected_signature(url: str, method: str, secret: str) -> str:
    """SigV4 for a presigned URL, computed from the AWS documentation, not from botocore."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    params = dict(query)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(query)
        if k != "X-Amz-Signature"
    )
    canonical = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            f"host:{parts.netloc}\n",
            params["X-Amz-SignedHeaders"],
            "UNSIGNED-PAYLOAD",
        ]
    )
    stamp = params["X-Amz-Date"]
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    date, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


async def test_presigned_urls_carry_a_valid_sigv4_signature() -> None:
    storage = S3Storage(
        "mas-media",
        region=REGION,
        endpoint_url="http://127.0.0.1:9000",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    get_url = await storage.presign_get("recordings/a b.webm", 900)
    part_url = await storage.presign_part("recordings/a b.webm", "upload-1", 2, 600)
    for url, method, expires in ((get_url, "GET", "900"), (part_url, "PUT", "600")):
        params = dict(parse_qsl(urlsplit(url).query))
        assert urlsplit(url).path == "/mas-media/recordings/a%20b.webm"
        assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        today = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
        assert params["X-Amz-Credential"] in (
            f"{ACCESS_KEY}/{today}/{REGION}/s3/aws4_request",
            # the clock may have crossed midnight between presigning and this line
            f"{ACCESS_KEY}/{params['X-Amz-Date'][:8]}/{REGION}/s3/aws4_request",
        )
        assert params["X-Amz-Expires"] == expires
        assert params["X-Amz-SignedHeaders"] == "host"
        assert len(params["X-Amz-Signature"]) == 64
        assert params["X-Amz-Signature"] == _expected_signature(url, method, SECRET_KEY)
        assert params["X-Amz-Signature"] != _expected_signature(url, method, SECRET_KEY + "x")
    part_params = dict(parse_qsl(urlsplit(part_url).query))
    assert part_params["partNumber"] == "2"
    assert part_params["uploadId"] == "upload-1"


async def test_settings_choose_s3(moto_url: str, bucket: str) -> None:
    from mas.adapters.storage import build_storage
    from mas.settings import load_settings

    settings = load_settings(
        environ={
            "MAS_STORAGE": "s3",
            "MAS_S3_BUCKET": bucket,
            "MAS_S3_REGION": REGION,
            "MAS_S3_ENDPOINT_URL": moto_url,
            "MAS_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MAS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    await storage.put("via/settings.txt", b"ok")
    assert await storage.get("via/settings.txt") == b"ok"
    assert settings.public_view()["s3_secret_access_key"] == "(set)"
