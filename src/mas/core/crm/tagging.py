"""Tags: ADMIN creates, renames and deletes them; anyone working a lead attaches and detaches
existing ones within their scope (one lead, or up to 5 000 at once for a pool)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from mas.core.crm.lead_access import scope_of
from mas.core.crm.model import ActivityType, Tag, TagName, activity, slugify_tag, tag_name_list
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.queries import BULK_TAG_MAX, LeadDetail
from mas.core.crm.service import LeadService, writable
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$", max_length=7)]
Description = Annotated[str, msgspec.Meta(max_length=300)]


class NewTag(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: TagName
    color: Color | None = None
    description: Description | None = None


class TagChanges(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: TagName | UnsetType = UNSET
    color: Color | None | UnsetType = UNSET
    description: Description | None | UnsetType = UNSET


class BulkTag(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    lead_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=BULK_TAG_MAX)]
    add: Annotated[list[TagName], tag_name_list(20)] = []
    remove: Annotated[list[TagName], tag_name_list(20)] = []


class BulkTagResult(msgspec.Struct, frozen=True, kw_only=True):
    requested: int
    in_scope: int
    added: int
    removed: int


def taken(name: str) -> Conflict:
    return Conflict(f"a tag named '{name}' already exists", code="tag_exists")


def tag_not_found(what: object) -> NotFound:
    return NotFound(f"no tag {what}", code="tag_not_found")


class TagService:
    def __init__(
        self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock, leads: LeadService
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._leads = leads

    async def all(self) -> list[Tag]:
        async with self._uow() as uow:
            return await uow.leads.tags()

    async def create(self, caller: Caller, data: NewTag) -> Tag:
        name = slugify_tag(data.name)
        async with self._uow() as uow:
            existing = await uow.leads.tag_by_name(name)
            if existing is not None and existing.deleted_at is None:
                raise taken(name)
            if existing is not None:  # a deleted tag keeps its name: bring it back
                existing.deleted_at = None
                existing.color, existing.description = data.color, data.description
                await uow.leads.save_tag(existing)
                tag = existing
            else:
                tag = Tag(
                    id=uuid7(),
                    name=name,
                    created_at=self._clock.now(),
                    color=data.color,
                    description=data.description,
                    created_by=caller.user_id,
                )
                try:
                    await uow.leads.add_tag(tag)
                except DuplicateKey:
                    raise taken(name) from None
            await uow.commit()
        return tag

    async def update(self, tag_id: uuid.UUID, changes: TagChanges) -> Tag:
        async with self._uow() as uow:
            tag = await self._live(uow, tag_id)
            if changes.name is not UNSET:
                tag.name = slugify_tag(changes.name)
            if changes.color is not UNSET:
                tag.color = changes.color
            if changes.description is not UNSET:
                tag.description = changes.description
            try:
                await uow.leads.save_tag(tag)
            except DuplicateKey:
                raise taken(tag.name) from None
            await uow.commit()
        return tag

    async def delete(self, tag_id: uuid.UUID) -> None:
        """Soft delete: the tag disappears from lists and filters; its name stays reserved."""
        async with self._uow() as uow:
            tag = await self._live(uow, tag_id)
            tag.deleted_at = self._clock.now()
            await uow.leads.save_tag(tag)
            await uow.commit()

    async def attach(self, caller: Caller, lead_id: uuid.UUID, tag_id: uuid.UUID) -> LeadDetail:
        await self._toggle(caller, lead_id, tag_id, attach=True)
        return await self._leads.get(caller, lead_id)

    async def detach(self, caller: Caller, lead_id: uuid.UUID, tag_id: uuid.UUID) -> LeadDetail:
        await self._toggle(caller, lead_id, tag_id, attach=False)
        return await self._leads.get(caller, lead_id)

    async def _toggle(
        self, caller: Caller, lead_id: uuid.UUID, tag_id: uuid.UUID, *, attach: bool
    ) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            await writable(uow, caller, lead_id)
            tag = await self._live(uow, tag_id)
            if attach:
                changed = await uow.leads.attach_tags([lead_id], [tag.id], caller.user_id, now)
                kind, verb = ActivityType.TAG_ADDED, "Tagged"
            else:
                changed = await uow.leads.detach_tags([lead_id], [tag.id])
                kind, verb = ActivityType.TAG_REMOVED, "Untagged"
            if changed:
                await uow.leads.append(
                    activity(
                        lead_id, kind, f"{verb} '{tag.name}'", now, caller.user_id, tag=tag.name
                    )
                )
            await uow.commit()

    async def bulk(self, caller: Caller, data: BulkTag) -> BulkTagResult:
        """Tag and untag many leads; leads outside the caller's (write) scope are skipped."""
        now = self._clock.now()
        requested = list(dict.fromkeys(data.lead_ids))
        async with self._uow() as uow:
            add = await self._named(uow, data.add)
            remove = await self._named(uow, data.remove)
            scope = await scope_of(uow, caller)
            ids = await uow.leads.in_scope(scope, requested, write=True)
            added = await uow.leads.attach_tags(ids, [t.id for t in add], caller.user_id, now)
            removed = await uow.leads.detach_tags(ids, [t.id for t in remove])
            names = {t.id: t.name for t in add + remove}
            journal = [
                activity(
                    lead,
                    ActivityType.TAG_ADDED,
                    f"Tagged '{names[tag]}'",
                    now,
                    caller.user_id,
                    tag=names[tag],
                    bulk=True,
                )
                for lead, tag in added
            ] + [
                activity(
                    lead,
                    ActivityType.TAG_REMOVED,
                    f"Untagged '{names[tag]}'",
                    now,
                    caller.user_id,
                    tag=names[tag],
                    bulk=True,
                )
                for lead, tag in removed
            ]
            await uow.leads.append(*journal)
            await uow.commit()
        return BulkTagResult(
            requested=len(requested), in_scope=len(ids), added=len(added), removed=len(removed)
        )

    async def _live(self, uow: CrmUnitOfWork, tag_id: uuid.UUID) -> Tag:
        tag = await uow.leads.get_tag(tag_id)
        if tag is None or tag.deleted_at is not None:
            raise tag_not_found(tag_id)
        return tag

    async def _named(self, uow: CrmUnitOfWork, raw: list[str]) -> list[Tag]:
        names = sorted({slugify_tag(n) for n in raw})
        found = await uow.leads.tags_named(names)
        missing = sorted(set(names) - {t.name for t in found})
        if missing:
            raise tag_not_found(", ".join(f"'{n}'" for n in missing))
        return found
