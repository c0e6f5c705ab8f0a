"""Starting the API imports no heavy library that only some requests need.

`mas serve` loads the CLI (and with it every domain's manifest), imports the app module, builds
the app and then the container. A fresh interpreter does exactly that here, on a SQLite file and
the in-memory broker (no network), and lists what ended up in ``sys.modules``. Excel, PDF, zip
encryption, cloud SDKs, HTML parsers, LLM clients and the OpenTelemetry SDK are imported where
they are used (`mas.adapters.pdf`, `mas.adapters.workbook`, `mas.adapters.storage`, the OTLP
tracing); one of them at start-up costs every process start (API, worker, each CLI command)
tens to hundreds of milliseconds. `benchmarks/startup.py` shows which module pulled what.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

# Module → what it is. A package counts with all its submodules.
HEAVY = {
    "openpyxl": "XLSX writer (finance exports)",
    "pyzipper": "AES zip (finance exports)",
    "fpdf": "PDF writer (invoices)",
    "fontTools": "fonts, pulled by fpdf2",
    "PIL": "Pillow, pulled by fpdf2",
    "email_validator": "address grammar (checked at sign-up and send time)",
    "boto3": "AWS SDK (S3 storage)",
    "botocore": "AWS SDK core",
    "s3transfer": "AWS SDK transfers",
    "lxml": "HTML/XML parsing",
    "bs4": "HTML parsing",
    "html5lib": "HTML parsing",
    "litellm": "LLM client",
    "openai": "LLM client",
    "anthropic": "LLM client",
    # Litestar's app constructor itself imports ``opentelemetry.semconv`` when the package is
    # installed (to look for its plugin); the API, the SDK and the exporter stay lazy.
    "opentelemetry.trace": "OpenTelemetry API (traces are off by default)",
    "opentelemetry.sdk": "OpenTelemetry SDK",
    "opentelemetry.exporter": "OTLP exporter",
    "google.protobuf": "protobuf, pulled by OTLP exporters",
    "grpc": "gRPC",
    "numpy": "numerics",
    # The vendors' HTTP client: the adapters import it at their first call (it pulls in rich,
    # pygments and click for its own command line: ~60 ms).
    "httpx": "HTTP client (payment, telephony, WhatsApp, Google adapters)",
    # The CLI's output (``mas.cli.common`` makes its consoles on first use).
    "rich": "terminal tables and progress bars",
    "pygments": "syntax highlighting, pulled by rich",
    "pandas": "data frames",
}

# Loose: today's start-up imports about 2,000 modules, ~2,450 with fpdf2 and openpyxl. Raise it
# only for modules the server needs before its first request.
MAX_MODULES = 2_300

STARTUP = """
import asyncio, json, sys

import mas.cli.main  # `mas serve` is a CLI command: the CLI and every manifest come first
import mas.http.app
from mas.bootstrap import build_container
from mas.settings import load_settings

settings = load_settings()
mas.http.app.create_app(settings)


async def start() -> None:
    container = await build_container(settings)
    await container.close()


asyncio.run(start())
print(json.dumps(sorted(sys.modules)))
"""


def _probe(code: str, folder: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAS_", "OTEL_"))}
    env.update(
        MAS_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/mas.db",
        MAS_STORAGE_DIR=str(folder / "files"),
        MAS_BROKER="memory",
        MAS_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO / "src"),
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _loaded(modules: list[str], names: dict[str, str]) -> dict[str, str]:
    """Of ``names`` (package -> what it is), those ``modules`` include, themselves or a part."""
    loaded = set(modules)
    return {
        name: what
        for name, what in names.items()
        if name in loaded or any(module.startswith(f"{name}.") for module in modules)
    }


@pytest.fixture(scope="module")
def startup_modules(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    modules: list[str] = _probe(STARTUP, tmp_path_factory.mktemp("startup"))
    return modules


def test_startup_imports_no_heavy_library(startup_modules: list[str]) -> None:
    found = _loaded(startup_modules, HEAVY)
    assert not found, (
        f"imported at start-up: {found}; import them where they are used "
        "(`python -X importtime` or benchmarks/startup.py shows who pulls them in)"
    )


def test_startup_module_count_stays_in_budget(startup_modules: list[str]) -> None:
    assert "mas.http.app" in startup_modules  # the probe did load the app
    assert len(startup_modules) <= MAX_MODULES, (
        f"{len(startup_modules)} modules imported at start-up (budget {MAX_MODULES})"
    )


# The ``mas`` command as the console script and ``python -m mas`` start it: the collector is
# off during the imports, and what they loaded is frozen before the command runs.
ENTRY = """
import gc, json, sys

sys.argv = ["mas", "version"]
from mas.__main__ import run

try:
    run()
except SystemExit:
    pass
print(json.dumps([gc.isenabled(), gc.get_freeze_count(), "mas.modules" in sys.modules]))
"""

# granian's entry point builds the app with the collector off, then freezes it and turns it on.
ASGI = """
import gc, json

import mas.http.app

runs = []
gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
frozen = gc.get_freeze_count()
mas.http.app.asgi()
print(json.dumps([gc.isenabled(), gc.get_freeze_count() - frozen, len(runs)]))
"""


def test_the_command_imports_with_the_collector_off_then_freezes_them(tmp_path: Path) -> None:
    enabled, frozen, loaded = _probe(ENTRY, tmp_path)
    assert loaded  # the CLI and every manifest were imported
    assert enabled  # the command itself runs with the collector on
    # Everything the imports made left the collector's view (a few hundred thousand objects).
    assert frozen > 100_000, frozen
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mas"] == "mas.__main__:run"


def test_granian_builds_the_app_without_collecting(tmp_path: Path) -> None:
    enabled, frozen, collections = _probe(ASGI, tmp_path)
    assert collections == 0  # some 600 without the switch
    assert enabled
    assert frozen > 50_000, frozen  # the handlers, their signatures and models


# `mas serve` builds the app once before granian forks: every worker is handed that one.
PREBUILT = """
import json

import mas.http.app

alone = mas.http.app.asgi() is mas.http.app.asgi()
mas.http.app.prebuild()
print(json.dumps([alone, mas.http.app.asgi() is mas.http.app.asgi()]))
"""


def test_the_workers_are_handed_the_app_built_before_the_fork(tmp_path: Path) -> None:
    alone, prebuilt = _probe(PREBUILT, tmp_path)
    assert not alone  # without a prebuilt app, each call builds its own
    assert prebuilt


# `mas leads import FILE --json` as the console script runs it, to its end: what it never needs
# stays out of the process (issue 13: a 100,000-row import in 5 s, process start included).
CLI_LAZY = {
    "jinja2": "mail template sandbox (mas.adapters.comms.templates: at the first check/render)",
    "jwt": "JWT library and its crypto backends (mas.adapters.identity: at the first token)",
    "nats": "NATS client (only with MAS_BROKER=nats or MAS_EVENT_BUS=nats)",
    "taskiq_nats": "JetStream broker (mas.adapters.bus.jetstream, only with MAS_BROKER=nats)",
    "aiosmtplib": "SMTP client (only with MAS_MAIL_TRANSPORT=smtp)",
    "rich.progress": "the import's progress bar (not drawn with --json)",
}

LEADS_SETUP = """
import sys

from typer.testing import CliRunner

from mas.cli.main import app

for args in (
    ["db", "upgrade"],
    ["users", "create", "--email", "head@example.com", "--role", "SALES_HEAD",
     "--password", "a long enough password", "--json"],
):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
"""

LEADS_IMPORT = """
import json, sys

sys.argv = ["mas", "leads", "import", "leads.csv", "--pool", "head@example.com", "--json"]
from mas.__main__ import run

try:
    run()
except SystemExit as exc:
    assert not exc.code, exc.code
print()
print(json.dumps(sorted(sys.modules)))
"""


def test_the_leads_import_command_loads_only_what_it_uses(tmp_path: Path) -> None:
    _probe(LEADS_SETUP + "\nprint('[]')", tmp_path)
    (tmp_path / "leads.csv").write_text("Name,Phone\nAsha,9876543210\nRavi,9876543211\n")
    modules: list[str] = _probe(LEADS_IMPORT, tmp_path)
    assert "mas.core.crm.imports" in modules  # the probe did run the import
    found = _loaded(modules, {**CLI_LAZY, **HEAVY})
    assert not found, (
        f"`mas leads import --json` imported {found}; import them where they are used "
        "(`python -X importtime -m mas leads import ...` shows who pulls them in)"
    )
