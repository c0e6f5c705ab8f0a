"""A draft graph as the canvas sends it: React Flow's JSON with every string, number, list and
map bounded, so a request body is never free JSON. Only the keys the graph reads are kept
(``id``, ``type``, ``position``, ``data`` of a node; ``id``, ``source``, ``target``,
``sourceHandle`` of an edge). The members React Flow keeps for itself (``selected``,
``measured``, ``viewport``…) are accepted and dropped; any other member is refused (422), as on
every body.

The bounds here are generous on purpose (500 nodes, any node type name): what is *wrong* in a
graph is reported by ``graph.parse_graph`` with node ids and codes, not by the decoder.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from mas.core.platform.bounds import MapKey, Scalar

MAX_GRAPH_BYTES = 512 * 1024
"""A draft graph larger than this (as compact JSON) is refused with 413."""

_Leaf = Scalar
_Item = (
    _Leaf
    | Annotated[list[_Leaf], msgspec.Meta(max_length=50)]
    | Annotated[
        dict[MapKey, _Leaf | Annotated[list[_Leaf], msgspec.Meta(max_length=50)]],
        msgspec.Meta(max_length=50),
    ]
)
DataValue = (
    _Leaf
    | Annotated[list[_Item], msgspec.Meta(max_length=50)]
    | Annotated[dict[MapKey, _Leaf], msgspec.Meta(max_length=50)]
)
"""A value in a node's ``data``: a scalar, a list (of scalars, lists of scalars or small
maps: a branch's conditions), or a map of scalars (an AI call's variables)."""


Flag = bool | None
Size = Annotated[float, msgspec.Meta(ge=-1e6, le=1e6)] | None
# A lower bound of 0 vanishes from the OpenAPI document (read as "no bound"); the canvas's own
# sizes are not stored, so a symmetric range says what the server accepts.
ClassName = Annotated[str, msgspec.Meta(max_length=200)] | None
ZIndex = Annotated[int, msgspec.Meta(ge=-(10**6), le=10**6)] | None
Side = Annotated[str, msgspec.Meta(max_length=10)] | None


class CanvasPosition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    x: Annotated[float, msgspec.Meta(ge=-1e7, le=1e7)] = 0.0
    y: Annotated[float, msgspec.Meta(ge=-1e7, le=1e7)] = 0.0


class CanvasSize(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    width: Size = None
    height: Size = None


class CanvasNode(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A React Flow node. Besides ``id``, ``type``, ``position`` and ``data``, the members the
    canvas keeps for itself are accepted (so a client can send what React Flow gives it) and not
    stored; any other member is refused."""

    id: Annotated[str, msgspec.Meta(max_length=200)]
    type: Annotated[str, msgspec.Meta(max_length=50)]
    position: CanvasPosition = msgspec.field(default_factory=CanvasPosition)
    data: Annotated[dict[MapKey, DataValue], msgspec.Meta(max_length=50)] = {}
    width: Size = None
    height: Size = None
    measured: CanvasSize | None = None
    selected: Flag = None
    dragging: Flag = None
    hidden: Flag = None
    draggable: Flag = None
    selectable: Flag = None
    connectable: Flag = None
    deletable: Flag = None
    position_absolute: CanvasPosition | None = msgspec.field(default=None, name="positionAbsolute")
    source_position: Side = msgspec.field(default=None, name="sourcePosition")
    target_position: Side = msgspec.field(default=None, name="targetPosition")
    z_index: ZIndex = msgspec.field(default=None, name="zIndex")
    class_name: ClassName = msgspec.field(default=None, name="className")


class CanvasMarker(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    type: Annotated[str, msgspec.Meta(max_length=20)]
    color: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    width: Size = None
    height: Size = None
    stroke_width: Size = msgspec.field(default=None, name="strokeWidth")


class CanvasEdge(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A React Flow edge; as for a node, the canvas's own members are accepted, not stored."""

    id: Annotated[str, msgspec.Meta(max_length=200)]
    source: Annotated[str, msgspec.Meta(max_length=200)]
    target: Annotated[str, msgspec.Meta(max_length=200)]
    source_handle: Annotated[str, msgspec.Meta(max_length=64)] | None = msgspec.field(
        default=None, name="sourceHandle"
    )
    target_handle: Annotated[str, msgspec.Meta(max_length=64)] | None = msgspec.field(
        default=None, name="targetHandle"
    )
    type: Annotated[str, msgspec.Meta(max_length=50)] | None = None
    label: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    animated: Flag = None
    selected: Flag = None
    hidden: Flag = None
    deletable: Flag = None
    marker_end: Annotated[str, msgspec.Meta(max_length=50)] | CanvasMarker | None = msgspec.field(
        default=None, name="markerEnd"
    )
    z_index: ZIndex = msgspec.field(default=None, name="zIndex")
    class_name: ClassName = msgspec.field(default=None, name="className")


class CanvasViewport(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    x: Annotated[float, msgspec.Meta(ge=-1e9, le=1e9)] = 0.0
    y: Annotated[float, msgspec.Meta(ge=-1e9, le=1e9)] = 0.0
    zoom: Annotated[float, msgspec.Meta(ge=1e-6, le=1e3)] = 1.0


class Canvas(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    nodes: Annotated[list[CanvasNode], msgspec.Meta(max_length=500)] = []
    edges: Annotated[list[CanvasEdge], msgspec.Meta(max_length=1000)] = []
    viewport: CanvasViewport | None = None

    def as_json(self) -> dict[str, Any]:
        """The draft graph as stored (plain JSON): the members the graph reads, no others."""
        return {
            "nodes": [
                {
                    "id": node.id,
                    "type": node.type,
                    "position": {"x": node.position.x, "y": node.position.y},
                    "data": msgspec.to_builtins(node.data),
                }
                for node in self.nodes
            ],
            "edges": [
                {
                    "id": edge.id,
                    "source": edge.source,
                    "target": edge.target,
                    "sourceHandle": edge.source_handle,
                }
                for edge in self.edges
            ],
        }


def encoded_size(graph: Any) -> int:
    return len(msgspec.json.encode(graph))
