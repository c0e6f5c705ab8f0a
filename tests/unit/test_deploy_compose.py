"""``deploy/compose.yaml`` and ``config/production.example.toml`` checked without Docker: the
services and their order, health checks and restart policies, that every ``MAS_*`` variable
compose sets is a real setting, and that the example settings load and pass the production
start-up check with the values compose gives them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from mas.settings import Settings, check_startup, load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
EXAMPLE = REPO / "config" / "production.example.toml"
MAS_ROLES = {"api": "serve", "worker": "worker", "scheduler": "scheduler"}
NATS_NODES = ("nats-1", "nats-2", "nats-3")
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "NATS_PASSWORD": "nats-secret",
    "MAS_JWT_SECRET": "a-production-secret-of-more-than-32-bytes",
    "MAS_ENCRYPTION_KEY": "an-encryption-key-of-more-than-32-bytes!",
}
# Read by the settings loader itself (the file to read), not a field of ``Settings``.
LOADER_VARIABLES = {"MAS_CONFIG"}
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:[?-])(?P<arg>[^}]*))?\}")


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, strictly."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in variables:
            return variables[name]
        if op == ":-":
            return str(arg)
        raise AssertionError(f"compose needs {name}: {arg or 'unset'}")

    return _INTERPOLATION.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with (DEPLOY / "compose.yaml").open() as handle:
        loaded = yaml.safe_load(handle)  # resolves the << merges of the x- fragments
    return interpolate(loaded, SECRETS)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]  # type: ignore[no-any-return]


def test_the_services_of_the_production_shape(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", *NATS_NODES, "migrate", *MAS_ROLES, "proxy"}
    for role, command in MAS_ROLES.items():
        assert services[role]["command"] == ["mas", command]
        assert services[role]["deploy"]["replicas"] == 2, f"two {role} processes"
    assert services["migrate"]["command"] == ["mas", "db", "upgrade"]


def test_everything_of_mas_waits_for_the_migration_and_the_services(
    services: dict[str, Any],
) -> None:
    for role in MAS_ROLES:
        needs = services[role]["depends_on"]
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, role
        for dependency in ("postgres", *NATS_NODES):
            assert needs[dependency] == {"condition": "service_healthy"}, (role, dependency)
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no", "a one-shot service"


def test_long_running_services_have_health_checks_and_restart(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "migrate":
            assert "healthcheck" not in service
            continue
        assert service["restart"] == "unless-stopped", name
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and len(check["test"]) > 1, name
        assert check["interval"] and check["retries"] >= 3, name
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][1:4] == ["mas", "jobs", "ping"]


def test_state_lives_in_named_volumes(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {
        mount.split(":", 1)[0]
        for service in services.values()
        for mount in service.get("volumes", [])
        if not mount.startswith((".", "/"))
    }
    assert used == declared
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for node in NATS_NODES:
        assert f"{node}:/data" in services[node]["volumes"], "each node keeps its own store"
    # The API writes an upload that a worker imports: both mount the one storage volume.
    for role in MAS_ROLES:
        assert "storage:/app/var" in services[role]["volumes"], role


def test_every_mas_variable_compose_sets_is_a_setting(services: dict[str, Any]) -> None:
    fields = {f"MAS_{field.name.upper()}" for field in msgspec.structs.fields(Settings)}
    seen = set()
    for name, service in services.items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for variable in environment:
            if variable.startswith("MAS_"):
                seen.add(variable)
                assert variable in fields | LOADER_VARIABLES, f"{name}: {variable} is no setting"
    assert {"MAS_CONFIG", "MAS_DATABASE_URL", "MAS_JWT_SECRET", "MAS_NATS_PASSWORD"} <= seen


def test_a_missing_secret_stops_compose() -> None:
    with (DEPLOY / "compose.yaml").open() as handle:
        loaded = yaml.safe_load(handle)
    partial = {k: v for k, v in SECRETS.items() if k != "MAS_JWT_SECRET"}
    with pytest.raises(AssertionError, match="MAS_JWT_SECRET"):
        interpolate(loaded, partial)


def test_the_nats_nodes_form_one_cluster(services: dict[str, Any]) -> None:
    config = (DEPLOY / "nats" / "nats.conf").read_text()
    assert "server_name: $NATS_SERVER_NAME" in config and "jetstream" in config
    routes = re.findall(r"nats-route://([\w-]+):6222", config)
    assert sorted(routes) == sorted(NATS_NODES)
    names = {services[node]["environment"]["NATS_SERVER_NAME"] for node in NATS_NODES}
    assert names == set(NATS_NODES)
    for node in NATS_NODES:
        assert services[node]["environment"]["NATS_PASSWORD"] == SECRETS["NATS_PASSWORD"]
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"name api\s+port 8000", caddy), "the proxy balances over the api service"


def compose_environment(services: dict[str, Any], role: str) -> dict[str, str]:
    """What a process of ``role`` sees: compose's variables, its config file at MAS_CONFIG."""
    environment = dict(services[role]["environment"])
    target = f":{environment['MAS_CONFIG']}:"
    mount = next(m for m in services[role]["volumes"] if target in m)
    assert mount.startswith("./production.toml:"), "the operator's copy of the example"
    environment["MAS_CONFIG"] = str(EXAMPLE)
    return environment


@pytest.mark.parametrize("role", sorted(MAS_ROLES))
def test_the_example_settings_load_and_pass_the_production_check(
    services: dict[str, Any], role: str
) -> None:
    settings = load_settings(environ=compose_environment(services, role))
    check_startup(settings)  # raises SettingsError naming what production may not start with
    assert settings.env == "prod" and settings.problems() == []
    assert (settings.broker, settings.event_bus, settings.effective_cache) == ("nats",) * 3
    assert settings.database_url.startswith("postgresql+asyncpg://mas:pg-secret@postgres:5432/")
    assert settings.nats_url == "nats://nats-1:4222" and settings.nats_has_credentials
    assert settings.http_host == "0.0.0.0" and settings.http_port == 8000
    assert services["api"]["expose"] == [str(settings.http_port)]
    assert settings.storage_dir.startswith("/app/var/"), "inside the shared storage volume"


def test_the_task_stream_is_kept_on_every_nats_node(services: dict[str, Any]) -> None:
    from mas.adapters.bus.taskiq import make_broker

    settings = load_settings(environ=compose_environment(services, "worker"))
    assert settings.nats_replicas == len(NATS_NODES)
    broker = make_broker(
        kind=settings.broker, nats_url=settings.nats_url, replicas=settings.nats_replicas
    )
    assert broker.stream_config.num_replicas == len(NATS_NODES)  # type: ignore[attr-defined]


def test_the_example_file_alone_names_only_real_settings() -> None:
    settings = load_settings(environ={"MAS_CONFIG": str(EXAMPLE)})
    assert settings.env == "prod"
    problems = " ".join(settings.problems())
    # Without compose's secrets the production check refuses, naming them.
    assert "MAS_JWT_SECRET" in problems and "MAS_ENCRYPTION_KEY" in problems
