"""The definitions part's refusals that carry more than a message."""

from __future__ import annotations

from mas.core.platform.errors import DomainError, FieldError, ValidationFailed
from mas.core.workflow.definitions.canvas import MAX_GRAPH_BYTES
from mas.core.workflow.definitions.graph import GraphIssue

INVALID_GRAPH = "INVALID_GRAPH"
GRAPH_TOO_LARGE = "graph_too_large"


class InvalidGraph(ValidationFailed):
    """422 ``INVALID_GRAPH``: every issue with its node id (``issues``; also in ``errors``, the
    node id as the field, for a client that reads only those)."""

    code = INVALID_GRAPH
    title = "The workflow graph is not valid"

    def __init__(self, issues: list[GraphIssue], detail: str | None = None) -> None:
        super().__init__(
            detail or f"the graph has {len(issues)} issue(s); each names its node",
            errors=[FieldError(i.node_id or "graph", f"{i.code}: {i.message}") for i in issues],
        )
        self.issues = issues


class GraphTooLarge(DomainError):
    """413: a draft graph above ``MAX_GRAPH_BYTES`` as JSON."""

    code = GRAPH_TOO_LARGE
    title = "The graph is too large"

    def __init__(self, size: int) -> None:
        super().__init__(
            f"the graph is {size} bytes as JSON; at most {MAX_GRAPH_BYTES} are kept",
        )
        self.size = size
