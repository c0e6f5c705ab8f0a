"""Admin views of the platform: the job ledger and the outbox mailbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

import msgspec
from litestar import get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mas import modules
from mas.core.platform.bounds import MAX_EMAIL, ScalarMap, schema_extra
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.job_model import JobFilter, JobRun, JobStatus
from mas.core.platform.messages import OutboxMessage, OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.http.params import PageNo, PageSize
from mas.http.platform import Platform, PlatformController


class TaskInfo(msgspec.Struct):
    task: str
    attempts: int
    backoff_s: float
    timeout_s: float
    summary: str


TASK_NAMES = sorted(modules.handlers())
"""The tasks the manifests register (``GET /api/admin/tasks``): what ``task`` may name."""


class EnqueueJob(msgspec.Struct, forbid_unknown_fields=True):
    task: Annotated[
        str,
        msgspec.Meta(min_length=3, max_length=120, extra_json_schema=schema_extra(enum=TASK_NAMES)),
    ]
    args: ScalarMap = {}
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    delay_s: Annotated[float, msgspec.Meta(ge=0, le=30 * 86400)] = 0


# One address, no space or control character in it, a dot in the domain: the rule of the
# test route, stated as it is (not ``format: email``, which is stricter: the transport checks
# the rest and marks the message failed). Written without ``\s``, which JSON Schema (ECMA-262)
# and Python read differently.
_TEST_ADDRESS = r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+\.[^@\x00-\x20\x7f]+$"


class TestEmail(msgspec.Struct, forbid_unknown_fields=True):
    to: Annotated[
        str,
        msgspec.Meta(
            pattern=_TEST_ADDRESS,
            max_length=MAX_EMAIL,
            description="An e-mail address (the transport checks it in full)",
        ),
    ]


class JobsController(PlatformController):
    path = "/api/admin"
    tags = ["admin: jobs"]
    opt = {"policy": "admin"}

    @get("/jobs", operation_id="listJobRuns", summary="List job runs, newest first")
    async def list_runs(
        self,
        platform: Platform,
        status: FromQuery[JobStatus | None] = None,
        task: Annotated[
            str | None, QueryParameter(max_length=120, description="a task name")
        ] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[JobRun]:
        return await platform.jobs.page(
            JobFilter(status=status, task=task), PageRequest(page, page_size)
        )

    @post(
        "/jobs",
        operation_id="enqueueJob",
        summary="Run a registered task now or after a delay (idempotent on the key)",
        status_code=202,
    )
    async def enqueue(self, platform: Platform, data: JSONBody[EnqueueJob]) -> JobRun:
        if data.task not in platform.tasks:
            raise ValidationFailed(
                f"no task named '{data.task}'",
                errors=[FieldError("task", "not a registered task; see GET /api/admin/tasks")],
            )
        delay = timedelta(seconds=data.delay_s) if data.delay_s else None
        return await platform.jobs.enqueue(
            data.task, dict(data.args), key=data.idempotency_key, delay=delay
        )

    @get("/jobs/{run_id:uuid}", operation_id="getJobRun", summary="One job run")
    async def show_run(self, platform: Platform, run_id: FromPath[uuid.UUID]) -> JobRun:
        return await platform.jobs.get(run_id)

    @post(
        "/jobs/{run_id:uuid}/retry",
        operation_id="retryJobRun",
        summary="Run a dead or failed job again",
        status_code=202,
    )
    async def retry_run(self, platform: Platform, run_id: FromPath[uuid.UUID]) -> JobRun:
        return await platform.jobs.retry(run_id)

    @get("/tasks", operation_id="listTasks", summary="Every registered task and its retry policy")
    async def tasks(self, platform: Platform) -> list[TaskInfo]:
        return [
            TaskInfo(
                task=name,
                attempts=handler.task.policy.attempts,
                backoff_s=handler.task.policy.backoff_s,
                timeout_s=handler.task.policy.timeout_s,
                summary=handler.summary,
            )
            for name, handler in sorted(platform.tasks.items())
        ]


class OutboxController(PlatformController):
    path = "/api/admin/outbox"
    tags = ["admin: outbox"]
    opt = {"policy": "admin"}

    @get("/", operation_id="listOutbox", summary="Outgoing messages, newest first (the mailbox)")
    async def list_messages(
        self,
        platform: Platform,
        status: FromQuery[OutboxStatus | None] = None,
        recipient: Annotated[
            str | None, QueryParameter(max_length=320, description="an e-mail address")
        ] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[OutboxMessage]:
        return await platform.delivery.mailbox(status, recipient, PageRequest(page, page_size))

    @post(
        "/test",
        operation_id="sendTestEmail",
        summary="Send a test email through the configured transport",
        status_code=202,
    )
    async def send_test(self, platform: Platform, data: JSONBody[TestEmail]) -> OutboxMessage:
        return await platform.messenger.send_email(
            data.to,
            "mas test message",
            "This is a test message from mas. If you can read it, mail delivery works.",
            template="admin.test",
        )
