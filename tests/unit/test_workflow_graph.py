"""The graph rules (workflow.md §4) as a table: each case a React Flow graph and every
(node id, code) it must be refused with; the valid ones must parse and walk."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from mas.core.workflow.definitions.graph import (
    MAX_NODES,
    BranchNode,
    CorruptGraph,
    Graph,
    checksum,
    load_graph,
    parse_graph,
    parsed_nodes,
)


def node(node_id: str, kind: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data}


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": f"{source}-{handle or ''}-{target}", "source": source}
    found["target"] = target
    if handle is not None:
        found["sourceHandle"] = handle
    return found


TRIGGER = node("t", "trigger")
WAIT_2D = node("w", "wait", amount=2, unit="days")
WHATSAPP = node(
    "wa",
    "send_whatsapp",
    template_name="nudge",
    language="en",
    params=["{{lead.name}}", "{{owner.phone}}"],
)
CALL = node("call", "ai_call", agent_ref="aarya", wait_for_outcome=True, timeout_minutes=60)
BRANCH = node(
    "b",
    "branch",
    mode="any",
    conditions=[{"field": "call.outcome", "op": "eq", "value": "INTERESTED"}],
)
EMAIL = node("mail", "send_email", template_key="welcome")
END = node("end", "end")
SMS = node("sms", "send_sms", body="Hi {{lead.first_name}}, call {{owner.phone}}")


def graph(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": nodes, "edges": edges, "viewport": {"x": 0, "y": 0, "zoom": 1}}


NURTURE = graph(
    [TRIGGER, WAIT_2D, WHATSAPP, CALL, BRANCH, EMAIL, END],
    [
        edge("t", "w"),
        edge("w", "wa"),
        edge("wa", "call"),
        edge("call", "b"),
        edge("b", "mail", "yes"),
        edge("b", "end", "no"),
    ],
)

CASES: list[tuple[str, dict[str, Any], set[tuple[str | None, str]]]] = [
    ("valid nurture", NURTURE, set()),
    ("trigger alone", graph([TRIGGER], []), set()),
    (
        "valid until_time wait and sms",
        graph(
            [TRIGGER, node("w", "wait", until_time="10:30"), SMS],
            [edge("t", "w"), edge("w", "sms")],
        ),
        set(),
    ),
    (
        "two triggers",
        graph([TRIGGER, node("t2", "trigger"), END], [edge("t", "end"), edge("t2", "end")]),
        {("t", "MULTIPLE_TRIGGERS"), ("t2", "MULTIPLE_TRIGGERS")},
    ),
    ("no trigger", graph([END], []), {(None, "NO_TRIGGER")}),
    (
        "edge into the trigger",
        graph([TRIGGER, END], [edge("t", "end"), edge("end", "t")]),
        {("t", "TRIGGER_HAS_INCOMING"), ("t", "CYCLE"), ("end", "CYCLE")},
    ),
    (
        "cycle",
        graph(
            [
                TRIGGER,
                node("a", "wait", amount=1, unit="hours"),
                node("c", "send_email", template_key="k"),
            ],
            [edge("t", "a"), edge("a", "c"), edge("c", "a")],
        ),
        {("a", "CYCLE"), ("c", "CYCLE")},
    ),
    (
        "self loop",
        graph(
            [TRIGGER, node("a", "wait", amount=1, unit="hours"), END],
            [edge("t", "a"), {"id": "loop", "source": "a", "target": "a"}],
        ),
        {("a", "CYCLE"), ("end", "UNREACHABLE")},
    ),
    ("unreachable", graph([TRIGGER, END, EMAIL], [edge("t", "end")]), {("mail", "UNREACHABLE")}),
    (
        "branch with only yes",
        graph([TRIGGER, BRANCH, EMAIL], [edge("t", "b"), edge("b", "mail", "yes")]),
        {("b", "BRANCH_NEEDS_TWO_EDGES")},
    ),
    (
        "branch with yes twice",
        graph(
            [TRIGGER, BRANCH, EMAIL, END],
            [edge("t", "b"), edge("b", "mail", "yes"), edge("b", "end", "yes")],
        ),
        {("b", "BRANCH_HANDLES")},
    ),
    (
        "two edges from a wait",
        graph(
            [TRIGGER, WAIT_2D, EMAIL, END], [edge("t", "w"), edge("w", "mail"), edge("w", "end")]
        ),
        {("w", "TOO_MANY_OUTGOING")},
    ),
    (
        "dangling edge",
        graph([TRIGGER, END], [edge("t", "end"), edge("end", "ghost")]),
        {("end", "DANGLING_EDGE")},
    ),
    (
        "duplicate id",
        graph([TRIGGER, END, node("end", "send_email", template_key="k")], [edge("t", "end")]),
        {("end", "DUPLICATE_NODE_ID")},
    ),
    (
        "duplicate edge id",
        graph([TRIGGER, END], [edge("t", "end"), {"id": "t--end", "source": "t", "target": "end"}]),
        {("t", "DUPLICATE_EDGE_ID")},
    ),
    (
        "unknown type",
        graph([TRIGGER, node("x", "send_fax", to="1")], [edge("t", "x")]),
        {("x", "UNKNOWN_NODE_TYPE")},
    ),
    (
        "wait of 91 days",
        graph([TRIGGER, node("w", "wait", amount=91, unit="days")], [edge("t", "w")]),
        {("w", "WAIT_OUT_OF_BOUNDS")},
    ),
    (
        "wait of 0 minutes",
        graph([TRIGGER, node("w", "wait", amount=0, unit="minutes")], [edge("t", "w")]),
        {("w", "INVALID_NODE_DATA")},
    ),
    (
        "wait with both forms",
        graph(
            [TRIGGER, node("w", "wait", amount=1, unit="days", until_time="09:00")],
            [edge("t", "w")],
        ),
        {("w", "WAIT_INVALID")},
    ),
    (
        "wait with a unit only",
        graph([TRIGGER, node("w", "wait", unit="days")], [edge("t", "w")]),
        {("w", "WAIT_INVALID")},
    ),
    (
        "wait until 25:00",
        graph([TRIGGER, node("w", "wait", until_time="25:00")], [edge("t", "w")]),
        {("w", "INVALID_NODE_DATA")},
    ),
    (
        "ai call timeout over a day",
        graph(
            [TRIGGER, node("c", "ai_call", agent_ref="a", timeout_minutes=1441)], [edge("t", "c")]
        ),
        {("c", "INVALID_NODE_DATA")},
    ),
    (
        "unknown placeholder",
        graph(
            [
                TRIGGER,
                node("s", "send_sms", body="Hi {{lead.nmae}} {{lead.name}}"),
                node("wa", "send_whatsapp", template_name="n", params=["{{ owner.email }}"]),
            ],
            [edge("t", "s"), edge("s", "wa")],
        ),
        {("s", "UNKNOWN_PLACEHOLDER"), ("wa", "UNKNOWN_PLACEHOLDER")},
    ),
    (
        "sms over 480 characters",
        graph([TRIGGER, node("s", "send_sms", body="x" * 481)], [edge("t", "s")]),
        {("s", "INVALID_NODE_DATA")},
    ),
    (
        "typo in data",
        graph([TRIGGER, node("m", "send_email", templateKey="k")], [edge("t", "m")]),
        {("m", "INVALID_NODE_DATA")},
    ),
    (
        "condition on an unknown field",
        graph(
            [
                TRIGGER,
                node("b", "branch", conditions=[{"field": "lead.salary", "op": "gt", "value": 1}]),
                EMAIL,
                END,
            ],
            [edge("t", "b"), edge("b", "mail", "yes"), edge("b", "end", "no")],
        ),
        {("b", "INVALID_NODE_DATA")},
    ),
    (
        "in without a list",
        graph(
            [
                TRIGGER,
                node(
                    "b", "branch", conditions=[{"field": "lead.status", "op": "in", "value": "NEW"}]
                ),
                EMAIL,
                END,
            ],
            [edge("t", "b"), edge("b", "mail", "yes"), edge("b", "end", "no")],
        ),
        {("b", "INVALID_CONDITION")},
    ),
    (
        "update changing nothing",
        graph([TRIGGER, node("u", "update_lead")], [edge("t", "u")]),
        {("u", "EMPTY_UPDATE")},
    ),
    (
        "bad node id",
        graph([TRIGGER, node("has space", "end")], [edge("t", "end")]),
        {(None, "INVALID_NODE_ID"), ("t", "DANGLING_EDGE")},
    ),
    (
        "more than 100 nodes",
        graph([TRIGGER, *(node(f"n{i}", "end") for i in range(MAX_NODES))], []),
        {(None, "TOO_MANY_NODES")},
    ),
    ("not a graph", {"nodes": "all of them"}, {(None, "GRAPH_SHAPE")}),
    (
        "an edge without a target",
        graph([TRIGGER], [{"id": "e", "source": "t"}]),
        {("t", "INVALID_EDGE")},
    ),
    (
        "everything at once",
        graph(
            [
                TRIGGER,
                node("t2", "trigger"),
                node("a", "end"),
                node("b", "wait", amount=1, unit="days"),
                node("c", "wait", amount=1, unit="days"),
                node("x", "zzz"),
            ],
            [edge("t", "a"), edge("b", "c"), edge("c", "b")],
        ),
        {
            ("t", "MULTIPLE_TRIGGERS"),
            ("t2", "MULTIPLE_TRIGGERS"),
            ("b", "UNREACHABLE"),
            ("c", "UNREACHABLE"),
            ("x", "UNREACHABLE"),
            ("b", "CYCLE"),
            ("c", "CYCLE"),
            ("x", "UNKNOWN_NODE_TYPE"),
        },
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [pytest.param(r, e, id=n) for n, r, e in CASES])
def test_graph_rules(raw: dict[str, Any], expected: set[tuple[str | None, str]]) -> None:
    parsed, issues = parse_graph(raw)
    found = [(issue.node_id, issue.code) for issue in issues]
    assert set(found) == expected
    assert len(found) == len(set(found)), "each issue is reported once"
    assert (parsed is not None) == (not expected)
    assert all(issue.message for issue in issues)


def test_a_valid_graph_walks_from_the_trigger() -> None:
    parsed, _ = parse_graph(NURTURE)
    assert parsed is not None
    assert parsed.trigger_id == "t"
    assert parsed.first() == "w"
    assert [parsed.next("w"), parsed.next("wa"), parsed.next("call")] == ["wa", "call", "b"]
    assert (parsed.next("b", "yes"), parsed.next("b", "no")) == ("mail", "end")
    assert parsed.next("mail") is None and parsed.next("end") is None
    assert isinstance(parsed.nodes["b"], BranchNode)
    with pytest.raises(ValueError, match="handle"):
        parsed.next("b")


def test_the_stored_form_is_normalised_and_loads_back() -> None:
    noisy = graph(
        [{**TRIGGER, "selected": True, "width": 150}, {**END, "dragging": False}],
        [{**edge("t", "end"), "sourceHandle": "bottom", "animated": True}],
    )
    parsed, issues = parse_graph(noisy)
    assert parsed is not None and not issues
    stored = parsed.to_stored()
    assert stored["edges"] == [
        {"id": "t--end", "source": "t", "target": "end", "sourceHandle": None}
    ]
    assert set(stored["nodes"][0]) == {"id", "type", "position", "data"}
    assert load_graph(stored) == parsed
    clean, _ = parse_graph(graph([TRIGGER, END], [edge("t", "end")]))
    assert clean is not None
    assert checksum(clean.to_stored()) == checksum(stored)
    moved = graph([TRIGGER, {**END, "position": {"x": 5, "y": 0}}], [edge("t", "end")])
    other, _ = parse_graph(moved)
    assert other is not None and checksum(other.to_stored()) != checksum(stored)
    assert len(checksum(stored)) == 64


def test_a_stored_graph_that_does_not_hold_together_is_corrupt() -> None:
    parsed, _ = parse_graph(NURTURE)
    assert parsed is not None
    stored = parsed.to_stored()
    with pytest.raises(CorruptGraph):
        load_graph({**stored, "edges": [*stored["edges"], edge("end", "ghost")]})
    with pytest.raises(CorruptGraph):
        load_graph({**stored, "nodes": stored["nodes"][1:]})
    with pytest.raises(CorruptGraph):
        load_graph({"nodes": [{"type": "wait", "id": "w", "data": {"amount": "x"}}], "edges": []})


def test_nodes_that_decode_are_read_even_when_the_graph_is_invalid() -> None:
    raw = graph([TRIGGER, EMAIL, node("bad", "send_email")], [])
    assert [n.id for n in parsed_nodes(raw)] == ["t", "mail"]


def test_a_graph_is_a_frozen_struct() -> None:
    parsed, _ = parse_graph(NURTURE)
    assert isinstance(parsed, Graph)
    with pytest.raises(AttributeError):
        parsed.trigger_id = "x"  # type: ignore[misc]
    assert msgspec.json.decode(msgspec.json.encode(parsed.to_stored())) == parsed.to_stored()
