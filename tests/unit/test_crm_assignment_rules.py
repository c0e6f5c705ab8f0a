"""Assignment rules: strategies, the approval gate, the request state machine, targets."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from mas.core.crm.assignment_model import (
    BulkRequest,
    BulkStrategy,
    Candidate,
    Gate,
    LeadSlots,
    MemberRole,
    RequestStatus,
    SalesHeadProfile,
    Slot,
    TeamMember,
    assign_least_loaded,
    assign_round_robin,
    bulk_gate,
    bulk_reason,
    check_page_flags,
    check_single_assign,
    distribute,
    member_problem,
    offending_ids,
    preview,
    require_flag,
)
from mas.core.crm.config import BULK_ASSIGN_THRESHOLD, KEYS
from mas.core.crm.model import ActivityType, LeadStatus
from mas.core.crm.targets_model import (
    ActivityFact,
    Actuals,
    TargetInput,
    add_up,
    check_range,
    check_targets,
    day_bounds,
    local_today,
    rank,
    tally,
)
from mas.core.identity.policy import Role
from mas.core.platform.errors import Forbidden, InvalidState, ValidationFailed

T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)  # 11:30 IST
ZONE = "Asia/Kolkata"
LEADS = [uuid.UUID(int=1000 + i) for i in range(12)]


def member(name: str, **fields: object) -> Candidate:
    return Candidate(user_id=uuid.uuid5(uuid.NAMESPACE_DNS, name), label=name, **fields)  # type: ignore[arg-type]


def profile(**fields: object) -> SalesHeadProfile:
    return SalesHeadProfile(
        user_id=uuid.uuid4(),
        display_name="Head",
        created_at=T0,
        updated_at=T0,
        page_flags={"assign": True, "bulk_assign": True, "targets": True},
        **fields,  # type: ignore[arg-type]
    )


# --- round-robin -------------------------------------------------------------------------------


def test_round_robin_turns_from_the_cursor_and_says_who_came_before() -> None:
    asha, ravi, meena = member("Asha"), member("Ravi"), member("Meena")
    picks, cursor = assign_round_robin([asha, ravi, meena], LEADS[:4], cursor=1)
    assert [p.assignee_id for p in picks] == [
        ravi.user_id,
        meena.user_id,
        asha.user_id,
        ravi.user_id,
    ]
    assert cursor == 2
    assert picks[0].reason == "round-robin: next after Asha"
    assert picks[2].reason == "round-robin: next after Meena"


def test_round_robin_skips_unavailable_inactive_and_full_members_and_says_so() -> None:
    asha = member("Asha", available=False)
    ravi = member("Ravi", daily_capacity=1, assigned_today=1)
    meena = member("Meena", active=False)
    kiran = member("Kiran")
    picks, cursor = assign_round_robin([asha, ravi, meena, kiran], LEADS[:2], cursor=0)
    assert [p.assignee_id for p in picks] == [kiran.user_id, kiran.user_id]
    assert picks[0].reason == (
        "round-robin: next after Meena (skipped Asha: unavailable; Ravi: at daily capacity 1; "
        "Meena: inactive)"
    )
    assert cursor == 0  # the next turn starts after Kiran, i.e. at Asha again


def test_round_robin_stops_at_capacity_and_leaves_the_rest_unassigned() -> None:
    asha = member("Asha", daily_capacity=2, assigned_today=1)
    ravi = member("Ravi", daily_capacity=1)
    picks, cursor = assign_round_robin([asha, ravi], LEADS[:5], cursor=0)
    assert [p.assignee_id for p in picks] == [asha.user_id, ravi.user_id]
    assert asha.assigned_today == 2 and ravi.assigned_today == 1
    assert assign_round_robin([], LEADS[:1], cursor=3) == ([], 3)


# --- least-loaded ------------------------------------------------------------------------------


def test_least_loaded_gives_each_lead_to_the_member_with_fewest_open_leads() -> None:
    asha, ravi, meena = member("Asha"), member("Ravi"), member("Meena")
    counts = {asha.user_id: 3, ravi.user_id: 1, meena.user_id: 1}
    picks = assign_least_loaded([asha, ravi, meena], counts, LEADS[:3])
    assert [p.assignee_id for p in picks] == [ravi.user_id, meena.user_id, ravi.user_id]
    assert [p.reason for p in picks] == [
        "least-loaded: 1 open lead",
        "least-loaded: 1 open lead",
        "least-loaded: 2 open leads",
    ]


def test_least_loaded_skips_unavailable_and_full_members() -> None:
    asha = member("Asha", available=False)
    ravi = member("Ravi", daily_capacity=1)
    meena = member("Meena")
    counts = {asha.user_id: 0, ravi.user_id: 0, meena.user_id: 3}
    picks = assign_least_loaded([asha, ravi, meena], counts, LEADS[:3])
    assert [p.assignee_id for p in picks] == [ravi.user_id, meena.user_id, meena.user_id]
    assert picks[1].reason == (
        "least-loaded: 3 open leads (skipped Asha: unavailable; Ravi: at daily capacity 1)"
    )
    assert assign_least_loaded([asha], {}, LEADS[:1]) == []


# --- bulk distribution -------------------------------------------------------------------------


def test_even_split_gives_contiguous_shares_that_differ_by_at_most_one() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    plan = distribute(BulkStrategy.EVEN_SPLIT, LEADS[:8], [a, b, c])
    assert [plan[lead][0] for lead in LEADS[:8]] == [a, a, a, b, b, b, c, c]
    assert plan[LEADS[3]][1] == "even split, share 2 of 3"
    assert preview(BulkStrategy.EVEN_SPLIT, LEADS[:8], [a, b, c]) == {a: 3, b: 3, c: 2}


def test_round_robin_and_explicit_bulk_plans_depend_only_on_the_request() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    plan = distribute(BulkStrategy.ROUND_ROBIN, LEADS[:3], [a, b])
    assert [plan[lead] for lead in LEADS[:3]] == [
        (a, "round-robin, turn 1 of 2"),
        (b, "round-robin, turn 2 of 2"),
        (a, "round-robin, turn 1 of 2"),
    ]
    assert plan == distribute(BulkStrategy.ROUND_ROBIN, LEADS[:3], [a, b])
    explicit = {str(LEADS[0]): b, str(LEADS[1]): a}
    assert distribute(BulkStrategy.EXPLICIT, LEADS[:2], [b, a], explicit) == {
        LEADS[0]: (b, "explicit pair"),
        LEADS[1]: (a, "explicit pair"),
    }
    rid = uuid.UUID(int=7)
    assert bulk_reason(rid, "approved by Asha", "explicit pair") == (
        f"bulk request {rid} approved by Asha: explicit pair"
    )


def test_offending_ids_are_listed_up_to_fifty() -> None:
    ids = [uuid.UUID(int=i) for i in range(53)]
    text = offending_ids(ids)
    assert text.count("-") == 50 * 4 and text.endswith("(+3 more)")
    assert offending_ids(ids[:2]) == f"{ids[0]}, {ids[1]}"


# --- the gate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERADMIN])
def test_an_admin_bypasses_the_gate_whatever_the_count(role: Role) -> None:
    gate, why = bulk_gate(role, None, 10_000, 25)
    assert gate is Gate.IMMEDIATE and role.value in why


def test_a_head_at_or_below_the_threshold_applies_at_once_above_it_waits() -> None:
    head = profile()
    assert bulk_gate(Role.SALES_HEAD, head, 25, 25)[0] is Gate.IMMEDIATE
    gate, why = bulk_gate(Role.SALES_HEAD, head, 26, 25)
    assert gate is Gate.NEEDS_APPROVAL and why == "26 leads > threshold 25: needs ADMIN approval"


def test_the_profile_threshold_overrides_the_system_default() -> None:
    assert bulk_gate(Role.SALES_HEAD, profile(bulk_approval_threshold=100), 100, 25)[0] is (
        Gate.IMMEDIATE
    )
    assert bulk_gate(Role.SALES_HEAD, profile(bulk_approval_threshold=5), 6, 25)[0] is (
        Gate.NEEDS_APPROVAL
    )
    assert KEYS[BULK_ASSIGN_THRESHOLD].default == 25


def test_a_head_without_approval_required_applies_any_count() -> None:
    gate, why = bulk_gate(Role.SALES_HEAD, profile(bulk_approval_required=False), 5000, 25)
    assert gate is Gate.IMMEDIATE and "no approval required" in why


def test_the_gate_needs_the_bulk_flag_and_a_sales_role() -> None:
    head = profile()
    head.page_flags = {"assign": True}
    with pytest.raises(Forbidden) as off:
        bulk_gate(Role.SALES_HEAD, head, 3, 25)
    assert off.value.code == "page_disabled"
    with pytest.raises(Forbidden) as none:
        bulk_gate(Role.SALES_HEAD, None, 3, 25)
    assert none.value.code == "page_disabled"
    with pytest.raises(Forbidden) as sales:
        bulk_gate(Role.SALES, None, 3, 25)
    assert sales.value.code == "role_forbidden"


def test_page_flags_are_checked_and_missing_ones_are_off() -> None:
    head = profile()
    require_flag(head, "targets")
    with pytest.raises(Forbidden):
        require_flag(head, "export")
    assert check_page_flags({"targets": True}) == {"targets": True}
    with pytest.raises(ValidationFailed) as bad:
        check_page_flags({"targets": True, "rockets": True})
    assert bad.value.errors[0].field == "page_flags" and "rockets" in bad.value.errors[0].message


# --- the lead slot and the team ----------------------------------------------------------------


def test_slot_rules_for_team_members() -> None:
    head = uuid.uuid4()

    def m(role: MemberRole, **fields: object) -> TeamMember:
        return TeamMember(
            id=uuid.uuid4(),
            sales_head_id=head,
            user_id=uuid.uuid4(),
            member_role=role,
            joined_at=T0,
            **fields,  # type: ignore[arg-type]
        )

    assert member_problem(m(MemberRole.TELECALLER), head, Slot.FIRST_LINE) is None
    assert member_problem(m(MemberRole.COUNSELLOR), head, Slot.FIRST_LINE) is None
    assert member_problem(m(MemberRole.TELECALLER), head, Slot.SECOND_LINE) == "wrong_member_role"
    assert member_problem(m(MemberRole.COUNSELLOR), uuid.uuid4(), Slot.FIRST_LINE) == "not_in_team"
    assert member_problem(None, head, Slot.FIRST_LINE) == "not_in_team"
    gone = m(MemberRole.TELECALLER)
    gone.leave(T0)
    assert member_problem(gone, head, Slot.FIRST_LINE) == "inactive"
    with pytest.raises(InvalidState):
        gone.leave(T0)


def test_a_converted_lead_keeps_its_first_line() -> None:
    lead = LeadSlots(id=uuid.uuid4(), status=LeadStatus.CONVERTED)
    with pytest.raises(InvalidState) as refused:
        check_single_assign(lead, Slot.FIRST_LINE)
    assert "CONVERTED" in str(refused.value)
    check_single_assign(lead, Slot.SECOND_LINE)


# --- the request state machine -----------------------------------------------------------------


def request(status: RequestStatus) -> BulkRequest:
    return BulkRequest(
        id=uuid.uuid4(),
        requested_by=uuid.uuid4(),
        pool_head_id=uuid.uuid4(),
        slot=Slot.FIRST_LINE,
        strategy=BulkStrategy.EVEN_SPLIT,
        lead_ids=LEADS[:2],
        assignee_ids=[uuid.uuid4()],
        lead_count=2,
        reason="spring batch",
        status=status,
        expires_at=T0 + timedelta(hours=72),
        created_at=T0,
        updated_at=T0,
    )


S = RequestStatus
LEGAL = [
    (S.PENDING, S.APPROVED),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.EXPIRED),
    (S.APPROVED, S.APPLYING),
    (S.APPLYING, S.APPLIED),
    (S.APPLYING, S.FAILED),
    (S.FAILED, S.APPLYING),
]


@pytest.mark.parametrize(("current", "target"), [(c, t) for c in S for t in S])
def test_the_request_state_machine(current: RequestStatus, target: RequestStatus) -> None:
    r = request(current)
    if (current, target) in LEGAL:
        r.move(target)
        assert r.status is target
        return
    with pytest.raises(InvalidState) as refused:
        r.move(target)
    assert f"'{current.value}'" in str(refused.value) and f"'{target.value}'" in str(refused.value)


def test_a_decision_records_who_when_and_why() -> None:
    r = request(S.PENDING)
    admin = uuid.uuid4()
    r.decide(S.REJECTED, admin, T0, "not this week")
    assert (r.status, r.decided_by, r.decided_at, r.decision_note) == (
        S.REJECTED,
        admin,
        T0,
        "not this week",
    )


# --- targets -----------------------------------------------------------------------------------


def row(person: uuid.UUID, day: date, **numbers: int) -> TargetInput:
    return TargetInput(salesperson_id=person, date=day, **numbers)


def test_target_dates_stay_within_a_week_back_and_a_month_ahead() -> None:
    today = date(2025, 3, 3)
    p = uuid.uuid4()
    check_targets([row(p, today - timedelta(days=7)), row(p, today + timedelta(days=31))], today)
    with pytest.raises(ValidationFailed) as bad:
        check_targets(
            [
                row(p, today - timedelta(days=8)),
                row(p, today + timedelta(days=32)),
                row(p, today),
                row(p, today),
            ],
            today,
        )
    assert [e.field for e in bad.value.errors] == [
        "targets[0].date",
        "targets[1].date",
        "targets[3]",
    ]


def test_a_range_is_ordered_and_at_most_92_days() -> None:
    check_range(date(2025, 1, 1), date(2025, 4, 2))
    with pytest.raises(ValidationFailed):
        check_range(date(2025, 1, 1), date(2025, 4, 3))
    with pytest.raises(ValidationFailed):
        check_range(date(2025, 1, 2), date(2025, 1, 1))


def test_the_local_day_and_its_bounds() -> None:
    late = datetime(2025, 3, 3, 19, 0, tzinfo=UTC)  # 00:30 IST on the 4th
    assert local_today(late, ZONE) == date(2025, 3, 4)
    start, end = day_bounds(date(2025, 3, 4), ZONE)
    assert start == datetime(2025, 3, 3, 18, 30, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_tally_counts_own_activities_by_local_day() -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    lead1, lead2 = uuid.uuid4(), uuid.uuid4()
    day = date(2025, 3, 3)
    facts = [
        ActivityFact(actor_id=me, raw_lead_id=lead1, type=ActivityType.CALL, occurred_at=T0),
        ActivityFact(
            actor_id=me,
            raw_lead_id=lead1,
            type=ActivityType.CALL,
            occurred_at=T0,
            data={"status": "completed", "duration_s": 45},
        ),
        ActivityFact(
            actor_id=me,
            raw_lead_id=lead2,
            type=ActivityType.CALL,
            occurred_at=T0,
            data={"connected": True, "duration_s": 19},
        ),
        ActivityFact(
            actor_id=me, raw_lead_id=lead1, type=ActivityType.FOLLOW_UP_DONE, occurred_at=T0
        ),
        ActivityFact(
            actor_id=me,
            raw_lead_id=lead1,
            type=ActivityType.STATUS_CHANGED,
            occurred_at=T0,
            data={"from": "CONTACTED", "to": "INTERESTED"},
        ),
        ActivityFact(
            actor_id=me,
            raw_lead_id=lead1,
            type=ActivityType.STATUS_CHANGED,
            occurred_at=T0,
            data={"from": "INTERESTED", "to": "CONVERTED"},
        ),
        ActivityFact(actor_id=me, raw_lead_id=lead1, type=ActivityType.CONVERTED, occurred_at=T0),
        ActivityFact(
            actor_id=me,
            raw_lead_id=lead2,
            type=ActivityType.CALL,
            occurred_at=datetime(2025, 3, 3, 19, 0, tzinfo=UTC),  # the 4th in IST
        ),
        ActivityFact(actor_id=other, raw_lead_id=lead2, type=ActivityType.CALL, occurred_at=T0),
    ]
    counted = tally(facts, ZONE, T0)
    mine = counted[(me, day)]
    assert (
        mine.calls_done,
        mine.connected_calls,
        mine.follow_ups_done,
        mine.moved_to_interested,
        mine.conversions,
    ) == (3, 1, 1, 1, 1)
    assert counted[(me, date(2025, 3, 4))].calls_done == 1
    assert counted[(other, day)].calls_done == 1


def test_the_leaderboard_ranks_by_conversions_then_calls_with_shared_ranks() -> None:
    def a(conversions: int, calls: int) -> Actuals:
        return Actuals(
            salesperson_id=uuid.uuid4(),
            target_date=date(2025, 3, 3),
            conversions=conversions,
            calls_done=calls,
        )

    board = rank([("Dev", a(1, 50)), ("Asha", a(2, 10)), ("Ravi", a(1, 50)), ("Kiran", a(1, 80))])
    assert [(s.rank, s.name) for s in board] == [(1, "Asha"), (2, "Kiran"), (3, "Dev"), (3, "Ravi")]
    total = add_up(uuid.uuid4(), date(2025, 3, 3), [a(1, 2), a(3, 4)])
    assert (total.conversions, total.calls_done) == (4, 6)
