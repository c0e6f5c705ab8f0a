"""Settings: defaults, config files, MAS_* environment, production checks, the public view."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

import mas.settings
from mas.settings import (
    DEFAULT_FILE,
    Settings,
    SettingsError,
    check_startup,
    load_settings,
)

# The development secret earlier versions shipped (and so published); it must sign nothing.
PUBLISHED_DEV_SECRET = "dev-only-insecure-jwt-secret-change-me-0000"

GOOD_SECRET = "k" * 40
PROD: dict[str, Any] = {
    "env": "prod",
    "jwt_secret": GOOD_SECRET,
    "encryption_key": "an-encryption-key",
    "database_url": "postgresql+asyncpg://mas:pw@db.internal:5432/mas",
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- sources and their order -------------------------------------------------------------------


def test_defaults_without_any_source() -> None:
    settings = load_settings(environ={})
    assert settings.env == "dev"
    assert settings.timezone == "Asia/Kolkata"
    assert settings.database_url == "sqlite+aiosqlite:///./var/mas.db"
    assert (settings.broker, settings.event_bus) == ("memory",) * 2
    assert (settings.cache, settings.effective_cache) == ("auto", "memory")
    assert settings.http_port == 8000
    assert settings.cors_origins == []
    assert settings.is_sqlite
    assert settings.jwt_secret == ""
    assert settings.var_dir == Path("var")


def test_the_shipped_default_file_is_read_and_valid() -> None:
    assert DEFAULT_FILE.is_file()
    with DEFAULT_FILE.open("rb") as handle:
        shipped = tomllib.load(handle)
    settings = msgspec.to_builtins(load_settings(environ={}))
    assert {key: settings[key] for key in shipped} == shipped


def test_the_default_file_is_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = write(tmp_path / "default.toml", 'timezone = "UTC"\nhttp_port = 8100\n')
    monkeypatch.setattr(mas.settings, "DEFAULT_FILE", default)
    settings = load_settings(environ={})
    assert (settings.timezone, settings.http_port) == ("UTC", 8100)


def test_a_missing_default_file_leaves_the_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mas.settings, "DEFAULT_FILE", tmp_path / "absent.toml")
    assert load_settings(environ={}) == Settings()


def test_mas_config_overrides_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = write(tmp_path / "default.toml", 'timezone = "UTC"\nhttp_port = 8100\n')
    monkeypatch.setattr(mas.settings, "DEFAULT_FILE", default)
    extra = write(tmp_path / "site.toml", 'http_port = 9100\ncors_origins = ["https://a.in"]\n')
    settings = load_settings(environ={"MAS_CONFIG": str(extra)})
    assert settings.http_port == 9100
    assert settings.cors_origins == ["https://a.in"]
    assert settings.timezone == "UTC"  # untouched keys keep the default file's value


def test_env_overrides_both_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = write(tmp_path / "default.toml", 'timezone = "UTC"\nhttp_port = 8100\n')
    monkeypatch.setattr(mas.settings, "DEFAULT_FILE", default)
    extra = write(tmp_path / "site.toml", 'http_port = 9100\ntimezone = "Europe/London"\n')
    settings = load_settings(environ={"MAS_CONFIG": str(extra), "MAS_HTTP_PORT": "9200"})
    assert settings.http_port == 9200
    assert settings.timezone == "Europe/London"


def test_overrides_beat_the_environment() -> None:
    settings = load_settings(environ={"MAS_HTTP_PORT": "9200"}, overrides={"http_port": 9300})
    assert settings.http_port == 9300


def test_only_mas_prefixed_variables_count() -> None:
    settings = load_settings(environ={"HTTP_PORT": "1", "mas_http_port": "2", "MAS_HTTPPORT": "3"})
    assert settings.http_port == 8000


def test_an_empty_mas_config_is_ignored() -> None:
    assert load_settings(environ={"MAS_CONFIG": ""}).http_port == 8000


# --- converting environment strings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("http_port", "9000", 9000),
        ("access_ttl_s", "60", 60),
        ("log_json", "false", False),
        ("log_json", "0", False),
        ("db_echo", "true", True),
        ("db_echo", "1", True),
        ("nats_ack_wait_s", "2.5", 2.5),
        ("release_interval_s", "1", 1.0),
        ("env", "test", "test"),
        ("storage_dir", "/srv/mas", "/srv/mas"),
    ],
)
def test_env_strings_are_converted(name: str, raw: str, value: object) -> None:
    settings = load_settings(environ={f"MAS_{name.upper()}": raw})
    assert getattr(settings, name) == value
    assert type(getattr(settings, name)) is type(value)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('["https://a.in", "https://b.in"]', ["https://a.in", "https://b.in"]),
        ("https://a.in,https://b.in", ["https://a.in", "https://b.in"]),
        (" https://a.in , https://b.in ,", ["https://a.in", "https://b.in"]),
        ("https://a.in", ["https://a.in"]),
        ("[]", []),
    ],
)
def test_a_list_from_json_or_commas(raw: str, value: list[str]) -> None:
    assert load_settings(environ={"MAS_CORS_ORIGINS": raw}).cors_origins == value


def test_a_dict_from_json() -> None:
    raw = json.dumps({"crm.assign_leads": "*/5 * * * *"})
    settings = load_settings(environ={"MAS_CRON_OVERRIDES": raw})
    assert settings.cron_overrides == {"crm.assign_leads": "*/5 * * * *"}


def test_a_dict_that_is_not_json_is_refused() -> None:
    with pytest.raises(SettingsError, match="MAS_CRON_OVERRIDES must be a JSON object"):
        load_settings(environ={"MAS_CRON_OVERRIDES": "crm.assign_leads=*/5 * * * *"})


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("MAS_HTTP_PORT", "eighty"),
        ("MAS_LOG_JSON", "perhaps"),
        ("MAS_ENV", "staging"),
        ("MAS_BROKER", "redis"),
        ("MAS_CRON_OVERRIDES", '["not", "a", "table"]'),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match="invalid setting"):
        load_settings(environ={name: raw})


# --- bad files ---------------------------------------------------------------------------------


def test_an_unknown_key_in_a_file_is_refused(tmp_path: Path) -> None:
    extra = write(tmp_path / "site.toml", "http_prot = 9000\n")
    with pytest.raises(SettingsError, match="http_prot"):
        load_settings(environ={"MAS_CONFIG": str(extra)})


def test_a_missing_mas_config_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mas.toml"
    with pytest.raises(SettingsError, match="does not exist") as caught:
        load_settings(environ={"MAS_CONFIG": str(missing)})
    assert str(missing) in str(caught.value)


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.toml", "http_port = = 1\n")
    with pytest.raises(SettingsError, match="not valid TOML") as caught:
        load_settings(environ={"MAS_CONFIG": str(broken)})
    assert str(broken) in str(caught.value)


# --- production checks -------------------------------------------------------------------------


def prod(**changes: Any) -> Settings:
    return load_settings(environ={}, overrides={**PROD, **changes})


def test_a_good_prod_config_passes() -> None:
    settings = prod()
    assert settings.problems() == []
    check_startup(settings)


def test_a_good_prod_config_on_nats_with_credentials_passes() -> None:
    for creds in (
        {"nats_creds": "/run/secrets/mas.creds"},
        {"nats_user": "mas", "nats_password": "pw"},
        {"nats_token": "tok"},
    ):
        check_startup(prod(broker="nats", cache="nats", event_bus="nats", **creds))


def test_dev_and_test_are_never_refused() -> None:
    for env in ("dev", "test"):
        settings = load_settings(environ={}, overrides={"env": env, "broker": "nats"})
        assert settings.problems() == []
        check_startup(settings)


def problems_of(settings: Settings) -> str:
    with pytest.raises(SettingsError) as caught:
        check_startup(settings)
    return str(caught.value)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"jwt_secret": ""}, "MAS_JWT_SECRET"),
        ({"jwt_secret": "short-secret"}, "MAS_JWT_SECRET"),
        ({"jwt_secret": "é" * 15}, "MAS_JWT_SECRET"),  # 30 bytes, though 15 characters
        ({"jwt_secret": PUBLISHED_DEV_SECRET}, "MAS_JWT_SECRET"),
        ({"broker": "nats"}, "NATS is used without credentials"),
        ({"cache": "nats"}, "NATS is used without credentials"),
        ({"event_bus": "nats", "nats_user": "mas"}, "NATS is used without credentials"),
        ({"database_url": "sqlite+aiosqlite:///./var/mas.db"}, "SQLite"),
        ({"encryption_key": ""}, "MAS_ENCRYPTION_KEY"),
        ({"whatsapp_provider": "fake"}, "MAS_WHATSAPP_PROVIDER=fake"),
    ],
)
def test_each_unsafe_prod_setting_is_refused(changes: dict[str, Any], needle: str) -> None:
    message = problems_of(prod(**changes))
    assert "MAS_ENV=prod" in message
    assert needle in message


def test_every_problem_is_listed_at_once() -> None:
    settings = load_settings(environ={"MAS_ENV": "prod", "MAS_BROKER": "nats"})
    message = problems_of(settings)
    for needle in ("MAS_JWT_SECRET", "NATS", "SQLite", "MAS_ENCRYPTION_KEY"):
        assert needle in message
    assert message.count("\n  - ") == 4
    assert len(settings.problems()) == 4


def test_a_32_byte_secret_is_long_enough() -> None:
    assert prod(jwt_secret="s" * 32).problems() == []
    assert prod(jwt_secret="s" * 31).problems() != []


# --- the public view ---------------------------------------------------------------------------

SECRETS = {
    "jwt_secret": "jwt-Secret-Value-0123456789-abcdefghij",
    "smtp_pass": "smtp-Pass-Value-42",
    "nats_password": "nats-Pass-Value-43",
    "nats_token": "nats-Token-Value-44",
    "encryption_key": "encryption-Key-Value-45",
}
DB_PASSWORD = "db-Pass-Value-46"


def test_public_view_never_shows_a_secret() -> None:
    settings = load_settings(
        environ={},
        overrides={**SECRETS, "database_url": f"postgresql+asyncpg://mas:{DB_PASSWORD}@db/mas"},
    )
    view = settings.public_view()
    dumped = json.dumps(view)
    for value in [*SECRETS.values(), DB_PASSWORD]:
        assert value not in dumped
    for name in SECRETS:
        assert view[name] == "(set)"
    assert view["database_url"] == "postgresql+asyncpg://mas:***@db/mas"


def test_public_view_says_which_secrets_are_missing() -> None:
    view = load_settings(environ={}).public_view()
    for name in SECRETS:
        assert view[name] == "(not set)"
    assert view["database_url"] == "sqlite+aiosqlite:///./var/mas.db"


def test_public_view_shows_every_setting() -> None:
    settings = load_settings(environ={})
    assert set(settings.public_view()) == set(msgspec.to_builtins(settings))


def test_public_view_hides_a_db_password_containing_an_at_sign() -> None:
    url = "postgresql://mas:p@ss-Value-47@db.internal/mas"
    view = load_settings(environ={}, overrides={"database_url": url}).public_view()
    assert "ss-Value-47" not in json.dumps(view)
    assert view["database_url"] == "postgresql://mas:***@db.internal/mas"


@pytest.mark.parametrize(
    "url", ["nats://mas:nats-Url-Pass-48@nats.internal:4222", "nats://nats-Url-Pass-48@nats:4222"]
)
def test_public_view_hides_credentials_in_the_nats_url(url: str) -> None:
    view = load_settings(environ={}, overrides={"nats_url": url}).public_view()
    assert "nats-Url-Pass-48" not in json.dumps(view)


# --- the cache several processes share ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "chosen"),
    [
        ({}, "memory"),
        ({"event_bus": "nats"}, "memory"),  # one process still does everything
        ({"http_workers": 2}, "database"),
        ({"http_workers": 2, "event_bus": "nats"}, "nats"),
        ({"broker": "nats"}, "nats"),
        ({"http_workers": 2, "cache": "nats"}, "nats"),
        ({"http_workers": 4, "cache": "database"}, "database"),
        ({"cache": "database"}, "database"),
    ],
)
def test_auto_picks_a_cache_every_process_shares(changes: dict[str, Any], chosen: str) -> None:
    settings = load_settings(environ={}, overrides=changes)
    assert settings.effective_cache == chosen
    check_startup(settings)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"MAS_CACHE": "memory", "MAS_HTTP_WORKERS": "2"}, "MAS_HTTP_WORKERS=2"),
        ({"MAS_CACHE": "memory", "MAS_BROKER": "nats"}, "MAS_BROKER=nats"),
    ],
)
def test_an_explicit_memory_cache_with_several_processes_is_refused(
    environ: dict[str, str], named: str
) -> None:
    settings = load_settings(environ=environ)  # env dev: refused all the same
    message = problems_of(settings)
    assert "MAS_CACHE=memory" in message and named in message
    assert "set MAS_CACHE=auto" in message
    assert "MAS_ENV=prod" not in message
    assert load_settings(environ={**environ, "MAS_CACHE": "auto"}).problems() == []


# --- the signing secret without MAS_JWT_SECRET --------------------------------------------------


def in_dir(folder: Path, **changes: Any) -> Settings:
    url = f"sqlite+aiosqlite:///{folder / 'mas.db'}"
    return load_settings(environ={}, overrides={"database_url": url, **changes})


def test_one_installation_keeps_one_generated_secret(tmp_path: Path) -> None:
    first = in_dir(tmp_path / "var").effective_jwt_secret
    again = in_dir(tmp_path / "var").effective_jwt_secret
    assert first == again
    assert len(first.encode()) >= 32
    secret_file = tmp_path / "var" / "jwt-secret"
    assert secret_file.read_text().strip() == first
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["jwt-secret"]


def test_two_installations_have_different_secrets(tmp_path: Path) -> None:
    one = in_dir(tmp_path / "one").effective_jwt_secret
    other = in_dir(tmp_path / "other").effective_jwt_secret
    assert one != other


def test_a_configured_secret_writes_no_file(tmp_path: Path) -> None:
    assert in_dir(tmp_path, jwt_secret=GOOD_SECRET).effective_jwt_secret == GOOD_SECRET
    assert not (tmp_path / "jwt-secret").exists()


def test_processes_starting_together_agree_on_the_secret(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(4, mp_context=get_context("fork")) as pool:
        made = set(pool.map(mas.settings.installation_secret, [tmp_path] * 8))
    assert made == {(tmp_path / "jwt-secret").read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]  # no draft left behind


def test_a_process_that_loses_the_race_reads_the_winners_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = mas.settings.installation_secret(tmp_path)
    monkeypatch.setattr(Path, "exists", lambda self: False)  # both saw no file, both write
    assert mas.settings.installation_secret(tmp_path) == winner
    assert [p.name for p in tmp_path.iterdir()] == ["jwt-secret"]


def test_a_damaged_secret_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "jwt-secret").write_text("\n")
    with pytest.raises(SettingsError, match="jwt-secret holds no usable secret"):
        _ = in_dir(tmp_path).effective_jwt_secret


def test_the_published_development_secret_signs_nothing(tmp_path: Path) -> None:
    import jwt as pyjwt

    from mas.adapters.identity.tokens import JwtCodec
    from mas.core.platform.errors import Unauthorized

    settings = in_dir(tmp_path)
    assert PUBLISHED_DEV_SECRET not in mas.settings.__dict__.values()
    claims = {
        "iss": "mas",
        "sub": "0190d7a4-0000-7000-8000-000000000001",
        "role": "SUPERADMIN",
        "plt": "my-analytics-school",
        "tv": 0,
        "jti": "forged",
        "amr": "pwd",
        "iat": 1_700_000_000,
        "exp": 4_102_444_800,
    }
    codec = JwtCodec(settings.effective_jwt_secret)
    with pytest.raises(Unauthorized) as caught:
        codec.decode(pyjwt.encode(claims, PUBLISHED_DEV_SECRET, algorithm="HS256"))
    assert caught.value.code == "invalid_token"
    # The very same claims signed with this installation's secret are accepted.
    own = pyjwt.encode(claims, settings.effective_jwt_secret, algorithm="HS256")
    assert codec.decode(own).role == "SUPERADMIN"
