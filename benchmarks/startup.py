"""Start-up: seconds from launching `mas serve` to its first `GET /health` 200, on PostgreSQL.

Each run starts one `mas serve` (granian, 1 worker) on a migrated scratch database and polls
`/health`; the figure is the median of the runs. On a shared machine the wall time swings with
the load, so each run also reports the CPU seconds the server used, start to stop (its
processes' user + system time, the stop included). What the server imports before its first
request (the CLI, the app module, `create_app` on a SQLite URL) is measured on its own: the CPU
seconds of a fresh interpreter doing just that (the steadiest figure on a busy machine), and
`python -X importtime` naming the top offenders: the third-party packages by their own import
time, and the mas modules by cumulative time. Prints one JSON object.

    .venv/bin/python benchmarks/startup.py [--runs N] [--src DIR]

``--src`` measures the ``mas`` package in another folder (say an older commit's ``src`` taken
with ``git archive``), for before/after figures from the same minute on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import REPO, free_port, scratch_database, start_mas, stop, wait_http  # noqa: E402

# What `mas serve` imports before granian starts, and what its worker builds (the lifespan,
# which connects to the database, is left out: it imports no library of its own).
# As the command does it: the collector off during the imports (``mas.__main__.run``), then the
# imports frozen (``mas.cli.main.main``); ``asgi`` does the same around the app. (A ``--src``
# from before that change is measured with the collector off during its imports too.)
SERVE_IMPORTS = """
import gc, os, sys, tempfile
gc.disable()
folder = tempfile.mkdtemp()
os.environ["MAS_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder}/startup.db"
os.environ["MAS_STORAGE_DIR"] = folder
import mas.cli.main
gc.freeze()
gc.enable()
import mas.http.app
mas.http.app.asgi()
print(len(sys.modules), file=sys.stderr)
"""


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def serve_once(database_url: str, src: Path | None) -> tuple[float, float]:
    """Seconds to the first 200, and CPU seconds of the server from start to stop."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **({"PYTHONPATH": str(src)} if src else {}),
            "MAS_DATABASE_URL": database_url,
            "MAS_HTTP_PORT": str(port),
            "MAS_HTTP_WORKERS": "1",
            "MAS_STORAGE_DIR": tmp,
        }
        log = Path(tmp) / "serve.log"
        cpu_before = _children_cpu_s()
        started = time.perf_counter()
        server = start_mas(["serve"], env, log)
        try:
            wait_http(port)
            wall = time.perf_counter() - started
        except RuntimeError:
            print(log.read_text(), file=sys.stderr)
            raise
        finally:
            stop(server)
        return wall, _children_cpu_s() - cpu_before


def _serve_imports(src: Path | None, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *options, "-c", SERVE_IMPORTS],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(src or REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
    )


def import_cpu_s(src: Path | None, runs: int) -> list[float]:
    """CPU seconds of a fresh interpreter doing SERVE_IMPORTS, per run."""
    spent = []
    for _ in range(runs):
        before = _children_cpu_s()
        _serve_imports(src)
        spent.append(_children_cpu_s() - before)
    return spent


def import_profile(top: int, src: Path | None) -> dict[str, object]:
    """`-X importtime` of SERVE_IMPORTS: the modules count and the biggest importers."""
    lines = _serve_imports(src, "-X", "importtime").stderr.splitlines()
    package_self_us: dict[str, int] = defaultdict(int)
    mas_cumulative_us: dict[str, int] = {}
    total_us = 0
    for line in lines:
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        module = name.strip()
        package_self_us[module.split(".")[0]] += int(self_us)
        total_us += int(self_us)
        if module.startswith("mas."):
            mas_cumulative_us[module] = int(cumulative_us)
    by_package = sorted(package_self_us.items(), key=lambda item: -item[1])
    by_mas = sorted(mas_cumulative_us.items(), key=lambda item: -item[1])
    return {
        "modules_imported": int(lines[-1]),
        "import_total_s": round(total_us / 1e6, 3),
        "packages_by_self_ms": {name: round(us / 1000, 1) for name, us in by_package[:top]},
        "mas_modules_by_cumulative_ms": {name: round(us / 1000, 1) for name, us in by_mas[:top]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--src", type=Path, help="folder holding the mas package to measure")
    args = parser.parse_args()
    src = args.src.resolve() if args.src else None
    # As `make install` does: with PYTHONDONTWRITEBYTECODE set, every start would recompile.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(src or REPO / "src")],
        check=True,
        stdout=subprocess.DEVNULL,
    )

    with scratch_database() as url:
        serve_once(url, src)  # warm the page cache; not counted
        runs = [serve_once(url, src) for _ in range(args.runs)]
    walls = [wall for wall, _ in runs]
    cpus = [cpu for _, cpu in runs]
    imports_cpu = import_cpu_s(src, args.runs)
    print(
        json.dumps(
            {
                "serve_to_health_200_s": {
                    "median": round(statistics.median(walls), 3),
                    "min": round(min(walls), 3),
                    "max": round(max(walls), 3),
                    "runs": [round(wall, 3) for wall in walls],
                },
                "server_cpu_s": {
                    "median": round(statistics.median(cpus), 3),
                    "runs": [round(cpu, 3) for cpu in cpus],
                },
                "serve_imports_cpu_s": {
                    "median": round(statistics.median(imports_cpu), 3),
                    "runs": [round(cpu, 3) for cpu in imports_cpu],
                },
                "src": str(src or REPO / "src"),
                "imports": import_profile(args.top, src),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
