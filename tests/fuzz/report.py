"""Turn a gate run's ``MAS_FUZZ_REPORT`` file into markdown: failures by check, then by operation,
with one example each. ``python -m tests.fuzz.report run.json > report.md``.

Run the gate with ``MAS_FUZZ_ALL_FAILURES=1`` for the full tally (otherwise each operation stops
at its first failing case)."""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from typing import Any


def example(failure: dict[str, Any]) -> str:
    sent = failure["request"]
    for part in ("query", "body"):
        if failure.get(part):
            sent += f" {part} {failure[part][:80]}"
    answer = " ".join(str(failure.get("answer", "")).split())[:160]
    reason = " ".join(str(failure["message"]).split())[:120]
    return (
        f"`{sent}` as {failure['caller']} → **{failure['status']}** "
        f"({failure['phase']}): {reason}; answer: `{answer}`"
    )


def render(run: dict[str, Any]) -> str:
    failures: list[dict[str, Any]] = run["failures"]
    by_check: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for failure in failures:
        by_check[failure["check"]].append(failure)
    lines = [
        f"Requests sent: {run['requests']} (by phase: {run.get('by_phase', {})}); "
        f"failed checks: {len(failures)} on "
        f"{len({f['operation'] for f in failures})} operations.",
        "",
        "| check | failed checks | operations |",
        "| --- | --- | --- |",
    ]
    for check, found in sorted(by_check.items(), key=lambda item: -len(item[1])):
        lines.append(f"| {check} | {len(found)} | {len({f['operation'] for f in found})} |")
    for check, found in sorted(by_check.items(), key=lambda item: -len(item[1])):
        lines += ["", f"### {check}", ""]
        counts = Counter(f["operation"] for f in found)
        for operation, count in counts.most_common():
            first = next(f for f in found if f["operation"] == operation)
            callers = sorted({f["caller"] for f in found if f["operation"] == operation})
            lines.append(
                f"- **{operation}** ×{count} (callers: {', '.join(callers)}): {example(first)}"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as file:
        sys.stdout.write(render(json.load(file)))
