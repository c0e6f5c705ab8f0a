"""A workflow's graph (workflow.md §4): React Flow JSON in, a validated ``Graph`` out.

``parse_graph`` is the one gate for what an admin draws. It never stops at the first problem:
every node whose data is wrong, every edge that points nowhere, every node off the trigger's
paths or on a cycle is reported with its node id and a stable code, so the canvas can mark
them all at once. The rules are structural and pure; the checks that need storage (the
templates a send node names) run at publish in ``publishing``.

A published version keeps the *normalised* form (``to_stored``): the React Flow shape with
only the keys the engine reads, each node's data with its defaults filled in, and the handle of
a non-branch edge dropped. Its sha256 (``checksum``) is over canonical JSON (sorted keys), so
two publishes of the same drawing have the same checksum whatever the canvas added around it.
``load_graph`` reads a stored form back (trusted input; it raises ``CorruptGraph`` rather than
guess).

Graphs are acyclic by rule, which is what keeps "one run per node" and termination simple.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import msgspec

from mas.core.workflow.definitions import placeholders
from mas.core.workflow.definitions.nodes import (
    MAX_WAIT,
    MIN_WAIT,
    AiCallData,
    BranchData,
    Condition,
    EndData,
    SendEmailData,
    SendSmsData,
    SendWhatsappData,
    TriggerData,
    UpdateLeadData,
    WaitData,
)

__all__ = [
    "MAX_EDGES",
    "MAX_NODES",
    "AiCallData",
    "AiCallNode",
    "BranchData",
    "BranchNode",
    "Condition",
    "CorruptGraph",
    "Edge",
    "EndNode",
    "Graph",
    "GraphIssue",
    "IssueCode",
    "Node",
    "Position",
    "SendEmailData",
    "SendEmailNode",
    "SendSmsData",
    "SendSmsNode",
    "SendWhatsappData",
    "SendWhatsappNode",
    "TriggerNode",
    "UpdateLeadData",
    "UpdateLeadNode",
    "WaitData",
    "WaitNode",
    "checksum",
    "load_graph",
    "parse_graph",
]

MAX_NODES = 100
MAX_EDGES = 2 * MAX_NODES
"""A valid graph has at most two edges per node (a branch's); more is refused unread."""

NODE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
NodeId = Annotated[str, msgspec.Meta(pattern=NODE_ID_PATTERN)]
EdgeId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Handle = Annotated[str, msgspec.Meta(max_length=64)]
Coordinate = Annotated[float, msgspec.Meta(ge=-1e7, le=1e7)]
YES = "yes"
NO = "no"


class IssueCode(enum.StrEnum):
    GRAPH_SHAPE = "GRAPH_SHAPE"
    TOO_MANY_NODES = "TOO_MANY_NODES"
    TOO_MANY_EDGES = "TOO_MANY_EDGES"
    INVALID_NODE_ID = "INVALID_NODE_ID"
    DUPLICATE_NODE_ID = "DUPLICATE_NODE_ID"
    UNKNOWN_NODE_TYPE = "UNKNOWN_NODE_TYPE"
    INVALID_NODE_DATA = "INVALID_NODE_DATA"
    INVALID_EDGE = "INVALID_EDGE"
    DUPLICATE_EDGE_ID = "DUPLICATE_EDGE_ID"
    DANGLING_EDGE = "DANGLING_EDGE"
    NO_TRIGGER = "NO_TRIGGER"
    MULTIPLE_TRIGGERS = "MULTIPLE_TRIGGERS"
    TRIGGER_HAS_INCOMING = "TRIGGER_HAS_INCOMING"
    TOO_MANY_OUTGOING = "TOO_MANY_OUTGOING"
    BRANCH_NEEDS_TWO_EDGES = "BRANCH_NEEDS_TWO_EDGES"
    BRANCH_HANDLES = "BRANCH_HANDLES"
    UNREACHABLE = "UNREACHABLE"
    CYCLE = "CYCLE"
    WAIT_INVALID = "WAIT_INVALID"
    WAIT_OUT_OF_BOUNDS = "WAIT_OUT_OF_BOUNDS"
    INVALID_CONDITION = "INVALID_CONDITION"
    UNKNOWN_PLACEHOLDER = "UNKNOWN_PLACEHOLDER"
    EMPTY_UPDATE = "EMPTY_UPDATE"
    EMAIL_TEMPLATE_MISSING = "EMAIL_TEMPLATE_MISSING"
    WHATSAPP_TEMPLATE_NOT_APPROVED = "WHATSAPP_TEMPLATE_NOT_APPROVED"


SHAPE_CODES = frozenset(
    {
        IssueCode.GRAPH_SHAPE,
        IssueCode.TOO_MANY_NODES,
        IssueCode.TOO_MANY_EDGES,
        IssueCode.INVALID_NODE_ID,
        IssueCode.DUPLICATE_NODE_ID,
        IssueCode.INVALID_EDGE,
        IssueCode.DUPLICATE_EDGE_ID,
        IssueCode.DANGLING_EDGE,
    }
)
"""What makes a drawing not a graph at all: a draft with one of these is not saved (the rest,
an unreachable node or a wait of 100 days, is what a draft in progress may have)."""


class GraphIssue(msgspec.Struct, frozen=True, kw_only=True):
    node_id: str | None
    code: str
    message: str


class Position(msgspec.Struct, frozen=True, kw_only=True):
    x: Coordinate = 0.0
    y: Coordinate = 0.0


class _Node(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    id: NodeId
    position: Position = msgspec.field(default_factory=Position)


class TriggerNode(_Node, frozen=True, kw_only=True, tag="trigger"):
    data: TriggerData = msgspec.field(default_factory=TriggerData)


class WaitNode(_Node, frozen=True, kw_only=True, tag="wait"):
    data: WaitData


class SendEmailNode(_Node, frozen=True, kw_only=True, tag="send_email"):
    data: SendEmailData


class SendWhatsappNode(_Node, frozen=True, kw_only=True, tag="send_whatsapp"):
    data: SendWhatsappData


class SendSmsNode(_Node, frozen=True, kw_only=True, tag="send_sms"):
    data: SendSmsData


class AiCallNode(_Node, frozen=True, kw_only=True, tag="ai_call"):
    data: AiCallData


class BranchNode(_Node, frozen=True, kw_only=True, tag="branch"):
    data: BranchData


class UpdateLeadNode(_Node, frozen=True, kw_only=True, tag="update_lead"):
    data: UpdateLeadData


class EndNode(_Node, frozen=True, kw_only=True, tag="end"):
    data: EndData = msgspec.field(default_factory=EndData)


Node = (
    TriggerNode
    | WaitNode
    | SendEmailNode
    | SendWhatsappNode
    | SendSmsNode
    | AiCallNode
    | BranchNode
    | UpdateLeadNode
    | EndNode
)

NODE_CLASSES: dict[str, type[Node]] = {
    "trigger": TriggerNode,
    "wait": WaitNode,
    "send_email": SendEmailNode,
    "send_whatsapp": SendWhatsappNode,
    "send_sms": SendSmsNode,
    "ai_call": AiCallNode,
    "branch": BranchNode,
    "update_lead": UpdateLeadNode,
    "end": EndNode,
}
"""Node type → its Struct, in palette order."""


def node_type(node: Node) -> str:
    tag = type(node).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


class Edge(msgspec.Struct, frozen=True, kw_only=True):
    id: EdgeId
    source: NodeId
    target: NodeId
    source_handle: Handle | None = msgspec.field(default=None, name="sourceHandle")


class StoredGraph(msgspec.Struct, frozen=True, kw_only=True):
    nodes: list[Node]
    edges: list[Edge]


class CorruptGraph(ValueError):
    """A stored graph that does not decode into a runnable one."""


class Graph(msgspec.Struct, frozen=True, kw_only=True):
    nodes: dict[str, Node]
    trigger_id: str
    edges: tuple[Edge, ...] = ()

    def next(self, node_id: str, handle: str | None = None) -> str | None:
        """Where the node leads: its one edge's target, or a branch's ``yes``/``no`` edge's;
        None when it has none (a leaf, which completes the enrollment)."""
        if handle is None and isinstance(self.nodes.get(node_id), BranchNode):
            raise ValueError(f"branch node {node_id!r} needs a handle ('yes' or 'no')")
        for edge in self.edges:
            if edge.source == node_id and edge.source_handle == handle:
                return edge.target
        return None

    def first(self) -> str | None:
        """The node after the trigger (None: the graph is the trigger alone)."""
        return self.next(self.trigger_id)

    def to_stored(self) -> dict[str, Any]:
        """The normalised React Flow form a published version keeps."""
        stored = StoredGraph(nodes=list(self.nodes.values()), edges=list(self.edges))
        result: dict[str, Any] = msgspec.to_builtins(stored)
        return result


def checksum(stored: Mapping[str, Any]) -> str:
    """sha256 (hex) of the stored form as canonical JSON (keys sorted)."""
    return hashlib.sha256(msgspec.json.encode(stored, order="sorted")).hexdigest()


def load_graph(stored: Mapping[str, Any]) -> Graph:
    """A published version's stored graph back into a ``Graph``; ``CorruptGraph`` when it
    does not decode or its edges and trigger do not hold together."""
    try:
        decoded = msgspec.convert(stored, StoredGraph)
    except msgspec.ValidationError as error:
        raise CorruptGraph(f"stored graph does not decode: {error}") from error
    nodes = {node.id: node for node in decoded.nodes}
    triggers = [node.id for node in decoded.nodes if isinstance(node, TriggerNode)]
    if len(nodes) != len(decoded.nodes) or len(triggers) != 1:
        raise CorruptGraph("stored graph needs unique node ids and exactly one trigger")
    if any(e.source not in nodes or e.target not in nodes for e in decoded.edges):
        raise CorruptGraph("stored graph has an edge to a node it does not hold")
    return Graph(nodes=nodes, trigger_id=triggers[0], edges=tuple(decoded.edges))


def parse_graph(raw: Mapping[str, Any]) -> tuple[Graph | None, list[GraphIssue]]:
    """Validate a React Flow graph (``{nodes, edges}``; other top-level keys, such as the
    canvas's ``viewport``, are ignored). Returns the Graph only when there is no issue."""
    return _Parser().parse(raw)


def parsed_nodes(raw: Mapping[str, Any]) -> list[Node]:
    """The nodes of a graph that decode, whatever else is wrong with it (the publish-time
    template checks read them)."""
    parser = _Parser()
    parser.parse(raw)
    return list(parser.nodes.values())


def _issue(node_id: str | None, code: IssueCode, message: str) -> GraphIssue:
    return GraphIssue(node_id=node_id, code=code.value, message=message)


class _Parser:
    def __init__(self) -> None:
        self.issues: list[GraphIssue] = []
        self.kinds: dict[str, str] = {}
        """Every node with a usable id → its declared type (even unknown or with bad data), so
        that the structural rules still see it."""
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def add(self, node_id: str | None, code: IssueCode, message: str) -> None:
        self.issues.append(_issue(node_id, code, message))

    def parse(self, raw: Any) -> tuple[Graph | None, list[GraphIssue]]:
        raw_nodes = raw.get("nodes") if isinstance(raw, Mapping) else None
        raw_edges = raw.get("edges", []) if isinstance(raw, Mapping) else None
        if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
            self.add(None, IssueCode.GRAPH_SHAPE, "a graph is an object with lists nodes, edges")
            return None, self.issues
        if len(raw_nodes) > MAX_NODES:
            self.add(None, IssueCode.TOO_MANY_NODES, f"at most {MAX_NODES} nodes")
        if len(raw_edges) > MAX_EDGES:
            self.add(None, IssueCode.TOO_MANY_EDGES, f"at most {MAX_EDGES} edges")
        if self.issues:
            return None, self.issues
        for index, item in enumerate(raw_nodes):
            self.read_node(index, item)
        for index, item in enumerate(raw_edges):
            self.read_edge(index, item)
        trigger = self.check_structure()
        if self.issues or trigger is None:
            return None, self.issues
        return Graph(nodes=self.nodes, trigger_id=trigger, edges=tuple(self.edges)), []

    def read_node(self, index: int, item: Any) -> None:
        node_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(node_id, str) or not _valid_id(node_id):
            self.add(
                None, IssueCode.INVALID_NODE_ID, f"node #{index}: id must match {NODE_ID_PATTERN}"
            )
            return
        if node_id in self.kinds:
            self.add(node_id, IssueCode.DUPLICATE_NODE_ID, f"node id {node_id!r} is used twice")
            return
        kind = item.get("type")
        self.kinds[node_id] = kind if isinstance(kind, str) else ""
        cls = NODE_CLASSES.get(kind) if isinstance(kind, str) else None
        if cls is None:
            self.add(node_id, IssueCode.UNKNOWN_NODE_TYPE, f"unknown node type {str(kind)[:50]!r}")
            return
        fields = {"type": kind, "id": node_id, "data": item.get("data") or {}}
        if item.get("position") is not None:
            fields["position"] = item["position"]
        try:
            node = msgspec.convert(fields, cls)
        except msgspec.ValidationError as error:
            self.add(node_id, IssueCode.INVALID_NODE_DATA, str(error))
            return
        self.nodes[node_id] = node
        self.issues.extend(node_issues(node))

    def read_edge(self, index: int, item: Any) -> None:
        source = item.get("source") if isinstance(item, Mapping) else None
        known_source = source if isinstance(source, str) and source in self.kinds else None
        try:
            edge = msgspec.convert(item, Edge)
        except msgspec.ValidationError as error:
            self.add(known_source, IssueCode.INVALID_EDGE, f"edge #{index}: {error}")
            return
        if any(edge.id == seen.id for seen in self.edges):
            self.add(
                known_source, IssueCode.DUPLICATE_EDGE_ID, f"edge id {edge.id!r} is used twice"
            )
            return
        missing = [end for end in (edge.source, edge.target) if end not in self.kinds]
        if missing:
            present = next((e for e in (edge.source, edge.target) if e in self.kinds), None)
            self.add(
                present,
                IssueCode.DANGLING_EDGE,
                f"edge {edge.id!r} points to missing node(s) {', '.join(map(repr, missing))}",
            )
            return
        if self.kinds[edge.source] != "branch" and edge.source_handle is not None:
            edge = msgspec.structs.replace(edge, source_handle=None)
        self.edges.append(edge)

    def check_structure(self) -> str | None:
        triggers = [node_id for node_id, kind in self.kinds.items() if kind == "trigger"]
        if not triggers:
            self.add(None, IssueCode.NO_TRIGGER, "a workflow starts at exactly one trigger node")
        elif len(triggers) > 1:
            for node_id in triggers:
                self.add(node_id, IssueCode.MULTIPLE_TRIGGERS, "a workflow has exactly one trigger")
        outgoing: dict[str, list[Edge]] = {node_id: [] for node_id in self.kinds}
        for edge in self.edges:
            outgoing[edge.source].append(edge)
            if self.kinds[edge.target] == "trigger":
                self.add(
                    edge.target,
                    IssueCode.TRIGGER_HAS_INCOMING,
                    f"edge {edge.id!r} enters the trigger",
                )
        for node_id, edges in outgoing.items():
            self.check_outgoing(node_id, edges)
        targets = {node_id: [e.target for e in edges] for node_id, edges in outgoing.items()}
        reached = _reachable(triggers, targets)
        for node_id in self.kinds:
            if triggers and node_id not in reached:
                self.add(
                    node_id, IssueCode.UNREACHABLE, "no path from the trigger reaches this node"
                )
        for node_id in _on_cycles(targets):
            self.add(node_id, IssueCode.CYCLE, "this node is on a cycle; a workflow is acyclic")
        return triggers[0] if len(triggers) == 1 else None

    def check_outgoing(self, node_id: str, edges: list[Edge]) -> None:
        if self.kinds[node_id] != "branch":
            if len(edges) > 1:
                self.add(
                    node_id,
                    IssueCode.TOO_MANY_OUTGOING,
                    "only a branch has more than one outgoing edge",
                )
            return
        if len(edges) != 2:
            self.add(
                node_id,
                IssueCode.BRANCH_NEEDS_TWO_EDGES,
                f"a branch has exactly two outgoing edges ('yes' and 'no'), not {len(edges)}",
            )
        elif {e.source_handle for e in edges} != {YES, NO}:
            self.add(
                node_id,
                IssueCode.BRANCH_HANDLES,
                "a branch's edges leave its 'yes' and 'no' handles",
            )


def _valid_id(node_id: str) -> bool:
    try:
        msgspec.convert(node_id, NodeId)
    except msgspec.ValidationError:
        return False
    return True


def node_issues(node: Node) -> list[GraphIssue]:
    """The rules on one node's data that its Struct's bounds cannot express."""
    issues: list[GraphIssue] = []
    if isinstance(node, WaitNode):
        issues.extend(_wait_issues(node.id, node.data))
    elif isinstance(node, BranchNode):
        for index, condition in enumerate(node.data.conditions):
            problem = condition.problem()
            if problem is not None:
                issues.append(
                    _issue(node.id, IssueCode.INVALID_CONDITION, f"condition #{index}: {problem}")
                )
    elif isinstance(node, UpdateLeadNode):
        data = node.data
        if not data.add_tags and not data.remove_tags and data.set_status is None:
            issues.append(_issue(node.id, IssueCode.EMPTY_UPDATE, "update_lead changes nothing"))
    for name in _unknown_placeholders(node):
        issues.append(
            _issue(node.id, IssueCode.UNKNOWN_PLACEHOLDER, f"unknown placeholder {{{{{name}}}}}")
        )
    return issues


def _wait_issues(node_id: str, data: WaitData) -> Iterator[GraphIssue]:
    delay_given = data.amount is not None or data.unit is not None
    if data.until_time is not None and delay_given:
        yield _issue(
            node_id, IssueCode.WAIT_INVALID, "a wait is amount+unit or until_time, not both"
        )
        return
    if data.until_time is not None:
        return
    delay = data.delay()
    if delay is None:
        yield _issue(node_id, IssueCode.WAIT_INVALID, "a wait needs amount and unit, or until_time")
    elif not MIN_WAIT <= delay <= MAX_WAIT:
        yield _issue(node_id, IssueCode.WAIT_OUT_OF_BOUNDS, "a wait lasts 1 minute to 90 days")


def _unknown_placeholders(node: Node) -> list[str]:
    texts: list[str] = []
    if isinstance(node, SendSmsNode):
        texts = [node.data.body]
    elif isinstance(node, SendWhatsappNode):
        texts = list(node.data.params)
    elif isinstance(node, AiCallNode):
        texts = list(node.data.variables.values())
    found: list[str] = []
    for text in texts:
        found.extend(name for name in placeholders.unknown(text) if name not in found)
    return found


def _reachable(starts: list[str], targets: Mapping[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for target in targets[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _on_cycles(targets: Mapping[str, list[str]]) -> list[str]:
    """The nodes on some cycle, in input order (Tarjan's strongly connected components, kept
    iterative; a component of two or more nodes, or a node with an edge to itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cyclic: set[str] = set()
    for root in targets:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = targets[node]
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in targets[node]:
                    cyclic.update(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return [node for node in targets if node in cyclic]
