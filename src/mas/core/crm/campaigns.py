"""Website campaigns: ADMIN manages them; anonymous visitors submit their forms.

A submission is stored as typed (``campaign_leads``) and answered with the same 202 whatever
happens next, so the form never reveals whether a phone is already known. A task promotes it
into the pool through the §5 intake (and a sweeper catches any the task missed).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from mas.core.crm.contact import (
    Email,
    ExtraData,
    Name,
    SessionYear,
    TypedPhone,
    check_extra_data,
    clean_contact,
    clean_name,
)
from mas.core.crm.intake import IntakeCommand, intake_with_retry, run_intake
from mas.core.crm.model import (
    Campaign,
    CampaignLead,
    CampaignLeadStatus,
    IncomingLead,
    IntakeChannel,
    LeadSource,
    TagName,
    slugify_tag,
    tag_name_list,
)
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.tasks import PROMOTE_CAMPAIGN_LEAD, CampaignLeadRef
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    Gone,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter

log = logging.getLogger("mas.crm")

PER_IP = (5, 600)  # submissions per 10 minutes
PER_PHONE = (3, 3600)  # submissions per hour
SWEEP_AFTER = timedelta(minutes=2)

SLUG_MAX = 80
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$", max_length=SLUG_MAX)]
CampaignName = Annotated[str, msgspec.Meta(min_length=2, max_length=150)]
Programme = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Tags = Annotated[list[TagName], tag_name_list(20)]
Str100 = Annotated[str, msgspec.Meta(max_length=100)]


class NewCampaign(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: Slug
    name: CampaignName
    programme: Programme
    session_year: SessionYear | None = None
    default_sales_head_id: uuid.UUID | None = None
    default_tags: Tags = []
    is_active: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CampaignChanges(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: Slug | UnsetType = UNSET
    name: CampaignName | UnsetType = UNSET
    programme: Programme | UnsetType = UNSET
    session_year: SessionYear | None | UnsetType = UNSET
    default_sales_head_id: uuid.UUID | None | UnsetType = UNSET
    default_tags: Tags | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    starts_at: datetime | None | UnsetType = UNSET
    ends_at: datetime | None | UnsetType = UNSET


class Submission(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The public form. ``website`` is a honeypot: people never see it, bots fill it in."""

    name: Name
    phone: TypedPhone | None = None
    email: Email | None = None
    answers: ExtraData = {}
    utm_source: Str100 | None = None
    utm_medium: Str100 | None = None
    utm_campaign: Str100 | None = None
    website: Annotated[str, msgspec.Meta(max_length=200)] | None = None


def is_open(campaign: Campaign, moment: datetime) -> bool:
    if campaign.starts_at is not None and moment < campaign.starts_at:
        return False
    return campaign.ends_at is None or moment < campaign.ends_at


class CampaignService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        phones: PhoneNormalizer,
        limiter: RateLimiter,
        jobs: Enqueuer,
        ip_pepper: str,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._phones = phones
        self._limiter = limiter
        self._jobs = jobs
        self._ip_pepper = ip_pepper

    # --- admin -----------------------------------------------------------------------------

    async def create(self, caller: Caller, data: NewCampaign) -> Campaign:
        campaign = Campaign(
            id=uuid7(),
            slug=data.slug,
            name=data.name.strip(),
            programme=data.programme.strip(),
            created_at=self._clock.now(),
            session_year=data.session_year,
            default_sales_head_id=data.default_sales_head_id,
            default_tags=[slugify_tag(t) for t in data.default_tags],
            is_active=data.is_active,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            created_by=caller.user_id,
        )
        async with self._uow() as uow:
            await self._check(uow, campaign)
            try:
                await uow.leads.add_campaign(campaign)
            except DuplicateKey:
                raise _slug_taken(campaign.slug) from None
            await uow.commit()
        return campaign

    async def update(self, campaign_id: uuid.UUID, changes: CampaignChanges) -> Campaign:
        async with self._uow() as uow:
            campaign = await self._get(uow, campaign_id)
            for field in msgspec.structs.fields(changes):
                value = getattr(changes, field.name)
                if value is not UNSET:
                    setattr(campaign, field.name, value)
            campaign.default_tags = [slugify_tag(t) for t in campaign.default_tags]
            await self._check(uow, campaign)
            try:
                await uow.leads.save_campaign(campaign)
            except DuplicateKey:
                raise _slug_taken(campaign.slug) from None
            await uow.commit()
        return campaign

    async def get(self, campaign_id: uuid.UUID) -> Campaign:
        async with self._uow() as uow:
            return await self._get(uow, campaign_id)

    async def page(self, req: PageRequest) -> Page[Campaign]:
        async with self._uow() as uow:
            return await uow.leads.campaigns(req)

    async def submissions(
        self, campaign_id: uuid.UUID | None, status: CampaignLeadStatus | None, req: PageRequest
    ) -> Page[CampaignLead]:
        async with self._uow() as uow:
            return await uow.leads.campaign_leads(campaign_id, status, req)

    async def _get(self, uow: CrmUnitOfWork, campaign_id: uuid.UUID) -> Campaign:
        campaign = await uow.leads.get_campaign(campaign_id)
        if campaign is None:
            raise NotFound(f"no campaign {campaign_id}", code="campaign_not_found")
        return campaign

    async def _check(self, uow: CrmUnitOfWork, campaign: Campaign) -> None:
        if campaign.starts_at and campaign.ends_at and campaign.ends_at <= campaign.starts_at:
            raise ValidationFailed(
                "the campaign ends before it starts",
                code="campaign_ends_before_start",
                errors=[FieldError("ends_at", "must be after starts_at")],
            )
        if campaign.default_sales_head_id is not None:
            head = await uow.users.get(campaign.default_sales_head_id)
            if head is None or head.is_deleted or head.role is not Role.SALES_HEAD:
                raise ValidationFailed(
                    "default_sales_head_id is not a sales head",
                    code="not_sales_head",
                    errors=[FieldError("default_sales_head_id", "not a sales head")],
                )
        known = {t.name for t in await uow.leads.tags_named(campaign.default_tags)}
        missing = [t for t in campaign.default_tags if t not in known]
        if missing:
            raise ValidationFailed(
                f"unknown tags: {', '.join(missing)}",
                code="unknown_tag",
                errors=[FieldError("default_tags", f"no tag named {missing[0]}")],
            )

    # --- the public form -------------------------------------------------------------------

    async def submit(self, slug: str, data: Submission, ip: str | None) -> None:
        """Store a submission (404 unknown or inactive, 410 closed, 422, 429) and queue it."""
        now = self._clock.now()
        async with self._uow() as uow:
            campaign = await uow.leads.campaign_by_slug(slug)
        if campaign is None or not campaign.is_active:
            raise NotFound(f"no campaign '{slug}'", code="campaign_not_found")
        if not is_open(campaign, now):
            raise Gone("this campaign is not taking submissions", code="campaign_closed")
        ip_hash = hashlib.sha256(f"{ip or '-'}|{self._ip_pepper}".encode()).hexdigest()
        await self._limiter.check(f"crm:form:ip:{ip_hash}", *PER_IP, detail="Too many forms")
        honeypot = bool((data.website or "").strip())
        if not honeypot:
            clean_name(data.name)
            contact = clean_contact(self._phones, phone=data.phone, email=data.email)
            check_extra_data(data.answers)
            if contact.phone_e164:
                await self._limiter.check(
                    f"crm:form:phone:{contact.phone_e164}", *PER_PHONE, detail="Too many forms"
                )
        submission = CampaignLead(
            id=uuid7(),
            campaign_id=campaign.id,
            name=data.name.strip()[:200],
            ip_hash=ip_hash,
            created_at=now,
            phone_raw=(data.phone or "").strip()[:40] or None,
            email_raw=(data.email or "").strip()[:254] or None,
            answers=data.answers,
            utm_source=data.utm_source,
            utm_medium=data.utm_medium,
            utm_campaign=data.utm_campaign,
            status=CampaignLeadStatus.REJECTED if honeypot else CampaignLeadStatus.RECEIVED,
            reject_reason="honeypot" if honeypot else None,
        )
        async with self._uow() as uow:
            await uow.leads.add_campaign_lead(submission)
            await uow.commit()
        if honeypot:
            log.info("crm.form_honeypot", extra={"campaign": slug})
            return
        try:
            await self._jobs.submit(PROMOTE_CAMPAIGN_LEAD, CampaignLeadRef(submission.id))
        except Exception:  # noqa: BLE001 - stored; the sweeper promotes it within minutes
            log.exception("crm.form_enqueue_failed", extra={"campaign_lead_id": str(submission.id)})

    # --- promotion -------------------------------------------------------------------------

    async def promote(self, campaign_lead_id: uuid.UUID) -> CampaignLeadStatus | None:
        """RECEIVED -> PROMOTED (created or merged lead) or REJECTED; others are left alone."""

        async def work(uow: CrmUnitOfWork) -> CampaignLeadStatus | None:
            submission = await uow.leads.get_campaign_lead(campaign_lead_id, lock=True)
            if submission is None or submission.status is not CampaignLeadStatus.RECEIVED:
                return submission.status if submission else None
            campaign = await uow.leads.get_campaign(submission.campaign_id)
            now = self._clock.now()
            try:
                cmd = self._command(submission, campaign)
            except ValidationFailed as exc:
                return await self._reject(uow, submission, exc.detail)
            result = await run_intake(uow, cmd, now)
            if not await uow.leads.settle_campaign_lead(
                submission.id, CampaignLeadStatus.PROMOTED, None, result.lead_id
            ):
                raise DuplicateKey(f"campaign lead {submission.id} was settled meanwhile")
            return CampaignLeadStatus.PROMOTED

        status = await intake_with_retry(self._uow, work)
        log.info(
            "crm.campaign_lead_promoted",
            extra={"campaign_lead_id": str(campaign_lead_id), "status": str(status)},
        )
        return status

    def _command(self, submission: CampaignLead, campaign: Campaign | None) -> IntakeCommand:
        if (
            campaign is None
            or not campaign.is_active
            or not is_open(campaign, submission.created_at)
        ):
            raise ValidationFailed("campaign closed")
        contact = clean_contact(
            self._phones, phone=submission.phone_raw, email=submission.email_raw
        )
        utm = {
            k: v
            for k, v in (
                ("utm_source", submission.utm_source),
                ("utm_medium", submission.utm_medium),
                ("utm_campaign", submission.utm_campaign),
            )
            if v
        }
        extra: dict[str, Any] = {**contact.raw_extra, **utm, "campaign": campaign.slug}
        if submission.answers:
            extra["answers"] = submission.answers
        return IntakeCommand(
            channel=IntakeChannel.CAMPAIGN,
            channel_ref=str(submission.id),
            source=LeadSource.CAMPAIGN,
            source_detail=campaign.slug,
            incoming=IncomingLead(
                name=clean_name(submission.name),
                phone_e164=contact.phone_e164,
                email=contact.email,
                course_interest=campaign.programme,
                session_year=campaign.session_year,
                extra_data=extra,
                tags=list(campaign.default_tags),
            ),
            pool=campaign.default_sales_head_id,
            payload={
                "campaign_lead_id": str(submission.id),
                "name": submission.name,
                "phone": submission.phone_raw,
                "email": submission.email_raw,
                **utm,
            },
        )

    async def _reject(
        self, uow: CrmUnitOfWork, submission: CampaignLead, reason: str
    ) -> CampaignLeadStatus:
        if not await uow.leads.settle_campaign_lead(
            submission.id, CampaignLeadStatus.REJECTED, reason[:200], None
        ):
            raise DuplicateKey(f"campaign lead {submission.id} was settled meanwhile")
        return CampaignLeadStatus.REJECTED

    async def sweep(self, limit: int = 500) -> int:
        """Promote submissions still RECEIVED two minutes after they came in."""
        async with self._uow() as uow:
            ids = await uow.leads.received_before(self._clock.now() - SWEEP_AFTER, limit)
        done = 0
        for campaign_lead_id in ids:
            try:
                await self.promote(campaign_lead_id)
                done += 1
            except DomainError as exc:  # one stuck submission must not stop the sweep
                log.warning(
                    "crm.sweep_skipped",
                    extra={"campaign_lead_id": str(campaign_lead_id), "error": exc.detail},
                )
        return done


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"a campaign with the slug '{slug}' already exists", code="campaign_slug_taken")
