"""A window of import rows split into parts that several writers can apply at the same time
and still give what one writer would.

Two rows depend on each other when they can end in the same lead: they share a phone (a row's
alternate phone counts as a phone: it is matched against lead phones, and a row's phone against
lead alternates) or an email; or each is linked to one existing lead that has that key. Rows that
depend on each other, directly or through others, form a component. A part holds whole
components, so:

- no two parts insert the same phone or email (no writer waits on another's unique index
  entry, none loses a race to it);
- no two parts merge into the same existing lead (no row lock is shared, and "the first
  non-empty value in file order" is decided inside one part, as the single writer decides it).

The rows of a part keep their file order. Components go to the part with the fewest rows so
far, in the order of their first row, so the split depends on the rows and links alone.

``Identities`` (the rows' own links) is computed in the parsing thread, ahead of the database;
``split`` adds the existing leads' links and assigns the parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mas.core.crm.import_rules import IntakeRow
from mas.core.crm.ports.imports import LeadKeys


class Identities:
    """The rows of a window joined by the keys they share (union-find over row positions)."""

    def __init__(self, rows: Sequence[IntakeRow]) -> None:
        self.count = len(rows)
        self._parent = list(range(len(rows)))
        first: dict[str, int] = {}
        take = first.setdefault
        for at, row in enumerate(rows):
            if row.phone:
                self.join(at, take("p" + row.phone, at))
            if row.phone_alt:
                self.join(at, take("p" + row.phone_alt, at))
            if row.email:
                self.join(at, take("e" + row.email, at))
        self.first = first
        """Each key and the first row that has it."""

    def lookup(self) -> tuple[list[str], list[str]]:
        """The phones (own and alternate) and emails of the rows, each once: what to look up
        among the existing leads (``ImportRepository.linked_leads``)."""
        phones = [key[1:] for key in self.first if key[0] == "p"]
        emails = [key[1:] for key in self.first if key[0] == "e"]
        return phones, emails

    def root(self, at: int) -> int:
        parent = self._parent
        while parent[at] != at:
            parent[at] = parent[parent[at]]
            at = parent[at]
        return at

    def join(self, one: int, other: int) -> None:
        if one == other:
            return
        one, other = self.root(one), self.root(other)
        if one != other:
            # The lower position stays the root: a component is named by its first row (stand-ins
            # come after the rows).
            if one < other:
                self._parent[other] = one
            else:
                self._parent[one] = other

    def stand_in(self) -> int:
        """A new node that is no row (it stands for something rows join through)."""
        self._parent.append(len(self._parent))
        return len(self._parent) - 1


class _Bridge:
    """Finds the node of a key: the first row of this window with it, else a stand-in for the
    previous window's component that has it (one stand-in per component)."""

    def __init__(self, now: Identities, before: Identities | None) -> None:
        self._now = now
        self._before = before
        self._stand_ins: dict[int, int] = {}  # previous window's component root -> stand-in

    def node(self, key: str) -> int | None:
        at = self._now.first.get(key)
        if at is not None:
            return at
        if self._before is None or (earlier := self._before.first.get(key)) is None:
            return None
        return self.previous(earlier)

    def previous(self, earlier: int) -> int:
        root = self._before.root(earlier) if self._before is not None else earlier
        found = self._stand_ins.get(root)
        if found is None:
            found = self._stand_ins[root] = self._now.stand_in()
        return found

    def link(self, lead: LeadKeys) -> None:
        """Join the rows with any key of ``lead``, directly or through the previous window."""
        nodes = [
            node
            for key in (
                "p" + lead.phone if lead.phone else "",
                "p" + lead.phone_alt if lead.phone_alt else "",
                "e" + lead.email if lead.email else "",
            )
            if key and (node := self.node(key)) is not None
        ]
        for node in nodes[1:]:
            self._now.join(nodes[0], node)


def split(
    rows: Sequence[IntakeRow],
    identities: Identities,
    links: Iterable[LeadKeys],
    parts: int,
    previous: Identities | None = None,
) -> list[list[IntakeRow]]:
    """``rows`` in at most ``parts`` independent parts (see the module), each in file order.

    ``identities`` are of these ``rows``; ``links`` are the live leads that have any of their
    keys, read once every window before ``previous`` had committed (``previous`` itself may
    still be being written, or only staged):

    - a lead that window creates has only keys of its rows;
    - a lead it merges into gains only keys of its rows, and keeps the keys it had;
    - its rows that end in one lead are in one of its components (the previous split).

    So rows of this window that will share a lead share a key, or a lead in ``links`` (by the
    lead's keys in either window), or a component of ``previous``: joining by all three is
    enough, and ``links`` need not wait for the previous window's commit.
    """
    assert identities.count == len(rows)
    if parts <= 1 or len(rows) < 2:
        return [list(rows)] if rows else []
    bridge = _Bridge(identities, previous)
    if previous is not None:
        for key, at in identities.first.items():
            if (earlier := previous.first.get(key)) is not None:
                identities.join(at, bridge.previous(earlier))
    for lead in links:
        bridge.link(lead)
    roots = [identities.root(at) for at in range(len(rows))]
    sizes: dict[int, int] = {}
    for root in roots:
        sizes[root] = sizes.get(root, 0) + 1
    # Components in the order of their first rows, each to the part with the fewest rows.
    loads = [0] * parts
    part_of: dict[int, int] = {}
    split_rows: list[list[IntakeRow]] = [[] for _ in range(parts)]
    for root, row in zip(roots, rows, strict=True):
        part = part_of.get(root)
        if part is None:
            part = part_of[root] = loads.index(min(loads))
            loads[part] += sizes[root]
        split_rows[part].append(row)
    return [part for part in split_rows if part]
