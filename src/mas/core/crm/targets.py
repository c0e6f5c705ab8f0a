"""Daily targets: set by the head (own team) or an ADMIN; actuals are live for today and stored
by ``crm.rollup_target_actuals`` for every day (a pure recompute, so reruns agree)."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from mas.core.crm.assignment_access import head_page, pool_filter
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.targets_model import (
    Actuals,
    DailyTarget,
    Standing,
    TargetInput,
    add_up,
    check_range,
    check_targets,
    day_bounds,
    local_today,
    rank,
    tally,
)
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import FieldError, Forbidden, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class TargetLine(msgspec.Struct, frozen=True, kw_only=True):
    salesperson_id: uuid.UUID
    name: str
    date: date
    target: DailyTarget
    actual: Actuals
    live: bool  # today's actuals, counted just now


class TodaySheet(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    target: DailyTarget | None
    actual: Actuals


class TargetService:
    def __init__(self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock, zone: str) -> None:
        self._uow = uow
        self._clock = clock
        self._zone = zone

    def _today(self) -> date:
        return local_today(self._clock.now(), self._zone)

    async def _team_ids(
        self, uow: CrmUnitOfWork, actor: Caller, head_id: uuid.UUID | None
    ) -> list[uuid.UUID] | None:
        """Whose numbers the caller reads: a head their team; an ADMIN a team or everyone."""
        pool, empty = pool_filter(actor, head_id)
        if empty:
            return []
        if pool is None:
            return None
        return [m.user_id for m in await uow.teams.members(pool, active_only=False)]

    async def live(
        self, uow: CrmUnitOfWork, people: list[uuid.UUID], day: date
    ) -> dict[uuid.UUID, Actuals]:
        now = self._clock.now()
        start, end = day_bounds(day, self._zone)
        counted = tally(await uow.targets.activity_facts(people, start, end), self._zone, now)
        return {
            p: counted.get((p, day)) or Actuals(salesperson_id=p, target_date=day, computed_at=now)
            for p in people
        }

    async def upsert(self, actor: Caller, rows: list[TargetInput]) -> list[DailyTarget]:
        if not rows:
            raise ValidationFailed(
                "no target rows", errors=[FieldError("body", "at least one row")]
            )
        check_targets(rows, self._today())
        now = self._clock.now()
        async with self._uow() as uow:
            await head_page(uow, actor, "targets")
            people = list(dict.fromkeys(r.salesperson_id for r in rows))
            if actor.is_admin:
                found = await uow.people.by_ids(people)
                errors = [
                    FieldError(f"targets[{i}].salesperson_id", "not an active SALES user")
                    for i, r in enumerate(rows)
                    if (p := found.get(r.salesperson_id)) is None
                    or not p.usable
                    or p.role is not Role.SALES
                ]
                if errors:
                    raise ValidationFailed(
                        "targets are for salespeople", code="not_sales", errors=errors
                    )
            else:
                team = {m.user_id for m in await uow.teams.members(actor.user_id, active_only=True)}
                outside = [str(p) for p in people if p not in team]
                if outside:
                    raise Forbidden(
                        f"not in your team: {', '.join(outside[:50])}", code="not_in_team"
                    )
            first, last = min(r.date for r in rows), max(r.date for r in rows)
            existing = {
                (t.salesperson_id, t.target_date): t
                for t in await uow.targets.in_range(people, first, last)
            }
            saved = []
            for r in rows:
                old = existing.get((r.salesperson_id, r.date))
                saved.append(
                    DailyTarget(
                        id=old.id if old else uuid7(),
                        salesperson_id=r.salesperson_id,
                        target_date=r.date,
                        created_at=old.created_at if old else now,
                        updated_at=now,
                        calls_target=r.calls_target,
                        connected_calls_target=r.connected_calls_target,
                        follow_ups_target=r.follow_ups_target,
                        interested_target=r.interested_target,
                        conversions_target=r.conversions_target,
                        revenue_target_paise=r.revenue_target_paise,
                        set_by=actor.user_id,
                        note=r.note,
                    )
                )
            await uow.targets.upsert(saved)
            await uow.commit()
        return saved

    async def sheet(
        self,
        actor: Caller,
        start: date | None,
        end: date | None,
        salesperson_id: uuid.UUID | None,
        head_id: uuid.UUID | None,
        req: PageRequest,
    ) -> Page[TargetLine]:
        today = self._today()
        start, end = start or today, end or start or today
        check_range(start, end)
        async with self._uow() as uow:
            await head_page(uow, actor, "targets")
            people = await self._team_ids(uow, actor, head_id)
            if salesperson_id is not None:
                people = [salesperson_id] if people is None or salesperson_id in people else []
            if people == []:
                return Page(items=[], total=0, page=req.page, page_size=req.page_size)
            targets = await uow.targets.in_range(people, start, end)
            window = targets[req.offset : req.offset + req.page_size]
            ids = list({t.salesperson_id for t in window})
            stored = {
                (a.salesperson_id, a.target_date): a
                for a in await uow.targets.stored_actuals(ids, start, end)
            }
            today_ids = [t.salesperson_id for t in window if t.target_date == today]
            live = await self.live(uow, today_ids, today) if today_ids else {}
            names = await uow.people.by_ids(ids)
        lines = []
        for t in window:
            is_live = t.target_date == today
            actual = (
                live[t.salesperson_id]
                if is_live
                else stored.get((t.salesperson_id, t.target_date))
                or Actuals(salesperson_id=t.salesperson_id, target_date=t.target_date)
            )
            person = names.get(t.salesperson_id)
            lines.append(
                TargetLine(
                    salesperson_id=t.salesperson_id,
                    name=person.label if person else str(t.salesperson_id),
                    date=t.target_date,
                    target=t,
                    actual=actual,
                    live=is_live,
                )
            )
        return Page(items=lines, total=len(targets), page=req.page, page_size=req.page_size)

    async def today(self, actor: Caller) -> TodaySheet:
        today = self._today()
        async with self._uow() as uow:
            found = await uow.targets.in_range([actor.user_id], today, today)
            actual = (await self.live(uow, [actor.user_id], today))[actor.user_id]
        return TodaySheet(date=today, target=found[0] if found else None, actual=actual)

    async def leaderboard(
        self, actor: Caller, start: date | None, end: date | None, head_id: uuid.UUID | None
    ) -> list[Standing]:
        today = self._today()
        start, end = start or today, end or start or today
        check_range(start, end)
        async with self._uow() as uow:
            await head_page(uow, actor, "targets")
            pool, empty = pool_filter(actor, head_id)
            if empty:
                return []
            members = await uow.teams.members(pool, active_only=True)
            people = list(dict.fromkeys(m.user_id for m in members))
            names = {m.user_id: m.name or str(m.user_id) for m in members}
            per: dict[uuid.UUID, list[Actuals]] = {p: [] for p in people}
            last_stored = min(end, today - timedelta(days=1))
            if people and start <= last_stored:
                for a in await uow.targets.stored_actuals(people, start, last_stored):
                    per[a.salesperson_id].append(a)
            if people and start <= today <= end:
                for p, a in (await self.live(uow, people, today)).items():
                    per[p].append(a)
        return rank([(names[p], add_up(p, end, rows)) for p, rows in per.items()])

    async def rollup(self, day: date | None = None) -> int:
        """Recompute and store the actuals of ``day`` (default: today, and yesterday too during
        the first hour of the day, so the last minutes of yesterday are counted)."""
        now = self._clock.now()
        today = self._today()
        days = [day] if day else [today]
        local = now.astimezone(ZoneInfo(self._zone))
        if day is None and local.time() < time(1, 0):
            days.append(today - timedelta(days=1))
        written = 0
        for d in days:
            async with self._uow() as uow:
                people = {m.user_id for m in await uow.teams.members(None, active_only=True)}
                people |= set(await uow.targets.people_with_targets(d))
                rows = list((await self.live(uow, sorted(people), d)).values())
                for row in rows:
                    row.computed_at = now
                await uow.targets.upsert_actuals(rows)
                await uow.commit()
            written += len(rows)
        return written
