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
from pathlib import Path

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


@pytest.fixture(scope="module")
def startup_modules(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("startup")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAS_", "OTEL_"))}
    env.update(
        MAS_DATABASE_URL=f"sqlite+aiosqlite:///{folder}/mas.db",
        MAS_STORAGE_DIR=str(folder / "files"),
        MAS_BROKER="memory",
        MAS_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO / "src"),
    )
    done = subprocess.run(
        [sys.executable, "-c", STARTUP],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def test_startup_imports_no_heavy_library(startup_modules: list[str]) -> None:
    loaded = set(startup_modules)
    found = {
        name: what
        for name, what in HEAVY.items()
        if name in loaded or any(module.startswith(f"{name}.") for module in startup_modules)
    }
    assert not found, (
        f"imported at start-up: {found}; import them where they are used "
        "(`python -X importtime` or benchmarks/startup.py shows who pulls them in)"
    )


def test_startup_module_count_stays_in_budget(startup_modules: list[str]) -> None:
    assert "mas.http.app" in startup_modules  # the probe did load the app
    assert len(startup_modules) <= MAX_MODULES, (
        f"{len(startup_modules)} modules imported at start-up (budget {MAX_MODULES})"
    )
