"""The split of an import window into parts that writers apply at the same time
(``import_partition``): rows that can end in one lead never land in two parts.

The property test checks the split against a model built here from the module's rule (a graph of
rows, the previous window's components and the existing leads, joined where they share a key),
not against the union-find it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mas.core.crm.import_partition import Identities, split
from mas.core.crm.import_rules import IntakeRow
from mas.core.crm.ports.imports import LeadKeys


def row(
    row_no: int, phone: str | None = None, alt: str | None = None, email: str | None = None
) -> IntakeRow:
    return IntakeRow(
        name=f"Lead {row_no}",
        row_no=row_no,
        ref=f"batch:b:{row_no}",
        payload={},
        phone=phone,
        phone_alt=alt,
        email=email,
    )


def numbers(parts: list[list[IntakeRow]]) -> list[list[int]]:
    return [[r.row_no for r in part] for part in parts]


def split_window(
    rows: Sequence[IntakeRow],
    links: Iterable[LeadKeys] = (),
    parts: int = 2,
    previous: Identities | None = None,
) -> tuple[list[list[IntakeRow]], Identities]:
    """As the run does it: the window's identities, split; they are the next window's
    ``previous``."""
    identities = Identities(rows)
    return split(rows, identities, list(links), parts, previous), identities


def part_of(parts: list[list[IntakeRow]], row_no: int) -> int:
    (found,) = [at for at, part in enumerate(parts) if row_no in {r.row_no for r in part}]
    return found


def together(parts: list[list[IntakeRow]], *row_nos: int) -> bool:
    return len({part_of(parts, n) for n in row_nos}) == 1


P = [f"+9198000000{i:02d}" for i in range(100)]
E = [f"m{i}@example.com" for i in range(100)]


def independent(start: int, count: int) -> list[IntakeRow]:
    """Rows 1000+ with keys of their own."""
    return [row(1000 + i, phone=f"+9197000{i:05d}") for i in range(start, start + count)]


# --- the rows' own keys -------------------------------------------------------------------


def test_rows_sharing_a_phone_end_in_one_part() -> None:
    rows = [row(1, P[1]), *independent(0, 3), row(2, P[1]), *independent(3, 3)]
    parts, _ = split_window(rows)
    assert len(parts) == 2 and together(parts, 1, 2)


def test_an_alternate_phone_equal_to_another_rows_phone_joins_them() -> None:
    # The alternate phone is matched against lead phones: both ways round.
    rows = [row(1, P[1]), *independent(0, 3), row(2, P[2], alt=P[1]), *independent(3, 3)]
    rows += [row(3, P[3], alt=P[4]), *independent(6, 2), row(4, P[4])]
    rows += [row(5, P[5], alt=P[6]), *independent(8, 2), row(6, P[7], alt=P[6])]
    parts, _ = split_window(rows)
    assert len(parts) == 2
    assert together(parts, 1, 2) and together(parts, 3, 4) and together(parts, 5, 6)


def test_rows_sharing_an_email_end_in_one_part() -> None:
    rows = [row(1, P[1], email=E[1]), *independent(0, 3), row(2, P[2], email=E[1])]
    rows += [row(3, email=E[2]), *independent(3, 2), row(4, email=E[2])]
    parts, _ = split_window(rows)
    assert len(parts) == 2 and together(parts, 1, 2) and together(parts, 3, 4)


def test_a_chain_of_keys_is_one_component() -> None:
    rows = [row(1, P[1]), row(2, P[1], email=E[1]), *independent(0, 4)]
    rows += [row(3, P[3], email=E[1]), *independent(4, 4), row(4, P[4], alt=P[3])]
    parts, _ = split_window(rows)
    assert len(parts) == 2 and together(parts, 1, 2, 3, 4)


# --- through an existing lead -------------------------------------------------------------


def test_rows_linked_only_through_an_existing_lead_end_in_one_part() -> None:
    # The lead's phone, alternate phone and email each bring one row: three rows that share
    # no key among themselves.
    # (Independent rows alternate between the parts: rows 1 and 2 would be apart unlinked.)
    rows = [row(1, P[1]), row(2, P[2]), row(3, P[3], email=E[3]), *independent(0, 6)]
    rows += [row(4, P[4]), *independent(9, 3), row(5, P[5])]
    lead = LeadKeys(phone=P[1], phone_alt=P[2], email=E[3])
    other = LeadKeys(phone=P[4], phone_alt=None, email=E[9])  # only row 4 has its keys
    parts, _ = split_window(rows, [lead, other])
    assert len(parts) == 2 and together(parts, 1, 2, 3)
    # Without the links rows 1, 2 and 3 would be spread: the links are what joins them.
    unlinked, _ = split_window(rows)
    assert not together(unlinked, 1, 2, 3)


def test_a_lead_with_keys_no_row_has_changes_nothing() -> None:
    rows = independent(0, 8)
    parts, _ = split_window(rows, [LeadKeys(phone=P[1], phone_alt=P[2], email=E[1])])
    assert numbers(parts) == numbers(split_window(rows)[0])


# --- through the previous window ----------------------------------------------------------


def test_rows_linked_only_through_the_previous_window_end_in_one_part() -> None:
    # Window 1 creates a lead with a phone and an email; window 2's links were read before
    # that commit, so they do not show it: the previous window's component must join rows 11
    # (by the phone) and 12 (by the email).
    _, before = split_window([row(1, P[1], email=E[1]), *independent(0, 5)])
    rows = [row(11, P[1]), row(12, P[2], email=E[1]), *independent(10, 6)]
    parts, _ = split_window(rows, previous=before)
    assert len(parts) == 2 and together(parts, 11, 12)
    alone, _ = split_window(rows)
    assert not together(alone, 11, 12)


def test_a_previous_component_joined_by_a_link_joins_the_next_windows_rows() -> None:
    # Window 1: rows 1 and 2 share no key; both are linked to the existing lead (P1, E1), so
    # they are one component (and may end in that lead, which gains their other keys).
    lead = LeadKeys(phone=P[1], phone_alt=None, email=E[1])
    first = [row(1, P[1], email=E[2]), *independent(0, 3), row(2, P[3], email=E[1])]
    parts_1, before = split_window(first, [lead])
    assert together(parts_1, 1, 2)
    # Window 2: row 11 has row 1's other key (E2), row 12 has row 2's other key (P3). The lead
    # as read for window 2 (before window 1 committed) has neither, so it is not among window
    # 2's links: only the previous component joins rows 11 and 12.
    rows = [row(11, P[11], email=E[2]), row(12, P[3]), *independent(10, 6)]
    parts, _ = split_window(rows, [], previous=before)
    assert len(parts) == 2 and together(parts, 11, 12)
    # A previous window not joined by the link would not join them.
    _, unlinked_before = split_window(first)
    apart, _ = split_window(rows, [], previous=unlinked_before)
    assert not together(apart, 11, 12)


def test_a_link_reaching_a_previous_component_joins_a_row_to_it() -> None:
    # Window 1 row 1 (P1, E1) merged into nothing yet visible; window 2's link (P2, E1) is a lead
    # with row 1's email and row 12's phone; row 11 has row 1's phone.
    _, before = split_window([row(1, P[1], email=E[1]), *independent(0, 3)])
    rows = [row(11, P[1]), row(12, P[2]), *independent(10, 6)]
    parts, _ = split_window(rows, [LeadKeys(phone=P[2], phone_alt=None, email=E[1])], 2, before)
    assert len(parts) == 2 and together(parts, 11, 12)
    assert not together(split_window(rows, [], 2, before)[0], 11, 12)


# --- the shape of the split ---------------------------------------------------------------


def test_every_row_once_in_file_order_and_balanced_when_independent() -> None:
    rows = independent(0, 10)
    for count in (2, 3, 4):
        parts, _ = split_window(rows, parts=count)
        assert len(parts) == count
        assert sorted(r.row_no for part in parts for r in part) == [r.row_no for r in rows]
        for part in parts:
            assert [r.row_no for r in part] == sorted(r.row_no for r in part)
        sizes = [len(part) for part in parts]
        assert max(sizes) - min(sizes) <= 1, sizes


def test_components_go_to_the_lightest_part_in_order_of_their_first_row() -> None:
    # A component of 4 (rows 1, 3, 5, 7 by one phone), then singles: part 0 takes the big
    # component, part 1 the singles until it is as heavy, then they alternate (ties: part 0).
    rows = [
        row(1, P[1]),
        row(2, P[2]),
        row(3, P[1]),
        row(4, P[4]),
        row(5, P[1]),
        row(6, P[6]),
        row(7, P[1]),
        row(8, P[8]),
        row(9, P[9]),
        row(10, P[10]),
    ]
    parts, _ = split_window(rows)
    assert numbers(parts) == [[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]]


def test_one_writer_or_one_row_is_one_part_and_no_rows_none() -> None:
    rows = independent(0, 5)
    assert numbers(split_window(rows, parts=1)[0]) == [[r.row_no for r in rows]]
    assert numbers(split_window(rows[:1])[0]) == [[rows[0].row_no]]
    assert split_window([])[0] == []


def test_all_rows_of_one_identity_are_one_part() -> None:
    rows = [row(i, P[1] if i % 2 else None, email=E[1]) for i in range(1, 9)]
    assert numbers(split_window(rows)[0]) == [list(range(1, 9))]


def test_the_split_is_deterministic() -> None:
    lead = LeadKeys(phone=P[1], phone_alt=P[2], email=None)
    first = [row(1, P[1], email=E[5]), *independent(0, 4), row(2, P[6])]
    rows = [row(11, P[2]), row(12, P[3], email=E[5]), *independent(10, 6), row(13, P[6])]
    results = []
    for _ in range(3):
        _, before = split_window(first, [lead])
        parts, _ = split_window(rows, [lead], 3, before)
        results.append(numbers(parts))
    assert results[0] == results[1] == results[2]


# --- the invariant, over random small key spaces --------------------------------------------


def keys_of(item: IntakeRow | LeadKeys) -> set[str]:
    phones = {item.phone, item.phone_alt} - {None}
    return {f"p{p}" for p in phones} | ({f"e{item.email}"} if item.email else set())


def components(nodes: list[set[str]], bridges: list[set[str]]) -> list[int]:
    """The component (an index) of each node: nodes sharing a key are joined, and all nodes
    sharing a key with one bridge are joined (a plain graph search, no union-find)."""
    edges: list[set[int]] = [set() for _ in nodes]
    for a in range(len(nodes)):
        for b in range(len(nodes)):
            if a != b and nodes[a] & nodes[b]:
                edges[a].add(b)
    for bridge in bridges:
        reached = [at for at, keys in enumerate(nodes) if keys & bridge]
        for a in reached:
            edges[a].update(set(reached) - {a})
    label = [-1] * len(nodes)
    for start in range(len(nodes)):
        if label[start] >= 0:
            continue
        label[start], todo = start, [start]
        while todo:
            for nxt in edges[todo.pop()]:
                if label[nxt] < 0:
                    label[nxt] = start
                    todo.append(nxt)
    return label


def model_components(
    rows: list[IntakeRow],
    links: list[LeadKeys],
    earlier: list[IntakeRow],
    earlier_links: list[LeadKeys],
) -> tuple[list[int], list[set[str]]]:
    """Components of ``rows``: the previous window's components (by their rows' keys, joined by
    that window's links) are nodes too, each with its rows' keys; links are bridges."""
    prior = components([keys_of(r) for r in earlier], [keys_of(k) for k in earlier_links])
    groups: dict[int, set[str]] = {}
    for label, item in zip(prior, earlier, strict=True):
        groups.setdefault(label, set()).update(keys_of(item))
    previous = list(groups.values())
    nodes = [keys_of(r) for r in rows] + previous
    return components(nodes, [keys_of(k) for k in links])[: len(rows)], previous


phones = st.sampled_from(P[:6])
emails = st.sampled_from(E[:4])


@st.composite
def window(draw: st.DrawFn, start: int) -> list[IntakeRow]:
    made = []
    for at in range(draw(st.integers(0, 12))):
        phone = draw(st.none() | phones)
        email = draw(st.none() | emails)
        if phone is None and email is None:
            phone = draw(phones)
        alt = draw(st.none() | phones) if phone is not None else None
        made.append(row(start + at, phone, None if alt == phone else alt, email))
    return made


leads = st.builds(LeadKeys, phone=st.none() | phones, phone_alt=st.none() | phones, email=emails)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    earlier=window(1),
    earlier_links=st.lists(leads, max_size=3),
    rows=window(100),
    links=st.lists(leads, max_size=3),
    parts=st.integers(2, 4),
)
def test_rows_that_can_meet_never_land_in_different_parts(
    earlier: list[IntakeRow],
    earlier_links: list[LeadKeys],
    rows: list[IntakeRow],
    links: list[LeadKeys],
    parts: int,
) -> None:
    _, before = split_window(earlier, earlier_links, parts)
    split_rows, _ = split_window(rows, links, parts, before)
    label, previous = model_components(rows, links, earlier, earlier_links)

    # Every row exactly once, each part in file order, no empty part, at most ``parts``.
    assert sorted(r.row_no for part in split_rows for r in part) == [r.row_no for r in rows]
    assert len(split_rows) <= parts and all(split_rows)
    for part in split_rows:
        assert [r.row_no for r in part] == sorted(r.row_no for r in part)

    # The invariant, pair by pair: rows in different parts share no key, no link lead reaches
    # both (by its keys, directly or through a previous component), and no previous component
    # reaches both.
    where = {r.row_no: part_of(split_rows, r.row_no) for r in rows}

    def reaches(keys: set[str], item: IntakeRow) -> bool:
        return bool(keys & keys_of(item)) or any(keys & p and p & keys_of(item) for p in previous)

    for a in rows:
        for b in rows:
            if where[a.row_no] == where[b.row_no]:
                continue
            assert not keys_of(a) & keys_of(b), (a, b)
            assert not any(reaches(keys_of(k), a) and reaches(keys_of(k), b) for k in links)
            assert not any(p & keys_of(a) and p & keys_of(b) for p in previous), (a, b)

    # And no more joined than that: components of the model, each whole to the part with the
    # fewest rows so far, in the order of their first rows (so a split into one part, which
    # would pass the invariant, fails here).
    sizes: dict[int, int] = {}
    for lab in label:
        sizes[lab] = sizes.get(lab, 0) + 1
    loads = [0] * parts
    assigned: dict[int, int] = {}
    expected: list[list[int]] = [[] for _ in range(parts)]
    for lab, item in zip(label, rows, strict=True):
        if lab not in assigned:
            assigned[lab] = loads.index(min(loads))
            loads[assigned[lab]] += sizes[lab]
        expected[assigned[lab]].append(item.row_no)
    if len(rows) < 2:
        expected = [[r.row_no for r in rows]] if rows else []
    assert numbers(split_rows) == [part for part in expected if part]
