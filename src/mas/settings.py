"""Settings: ``config/default.toml``, then the file named by ``MAS_CONFIG``, then ``MAS_*`` env.

Flat keys: the environment variable of ``database_url`` is ``MAS_DATABASE_URL``. Lists and
tables may be given in the environment as JSON; a list of strings also as ``a,b,c``.

Without ``jwt_secret`` (the embedded default) tokens are signed with a random secret made once
per installation and kept in ``var/jwt-secret`` (beside the SQLite file), never with a value
anyone could read in the source. Production must configure its own: a per-machine file would
make every machine refuse the others' tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "config" / "default.toml"
VAR_DIR = Path("var")
SECRET_FILE = "jwt-secret"
MIN_SECRET_BYTES = 32
# SHA-256 of the development secret earlier versions shipped in this file (and so published):
# a production config that copied it is refused.
_PUBLISHED_SECRETS = {"c7ccbc30778f49e035076f7bf28c3f13a347a253a3a914173ba51426b7bd2d50"}


class SettingsError(Exception):
    """The settings cannot be used; the message says which key and why."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    env: Literal["dev", "test", "prod"] = "dev"
    timezone: str = "Asia/Kolkata"
    log_level: str = "INFO"
    log_json: bool = True

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_workers: int = 1
    http_stop_timeout_s: int = 10
    """On SIGTERM a worker finishes its requests for at most this long, then is killed: an open
    event stream never ends by itself."""
    cors_origins: list[str] = []
    default_platform: str = "my-analytics-school"

    metrics_token: str = ""
    """The bearer token ``GET /metrics`` asks for; unset → the route answers 404 (off)."""
    metrics_dir: str = ""
    """``mas serve``: where the HTTP workers keep their samples for one scrape to sum (emptied at
    start); empty → ``<var>/metrics/serve-<port>``."""
    metrics_port: int = 0
    """``mas worker`` / ``mas scheduler``: serve ``GET /metrics`` on this port (0: off)."""
    metrics_host: str = "127.0.0.1"
    metrics_fact_timeout_s: float = 2.0
    """Time limit of each database fact a scrape reads (outbox backlog, queue depth)."""
    otel_endpoint: str = ""
    """An OTLP/HTTP collector (``http://collector:4318``): traces are sent there; empty → off."""
    otel_service_name: str = "mas"

    database_url: str = "sqlite+aiosqlite:///./var/mas.db"
    db_pool_min: int = 5
    db_pool_max: int = 20
    db_echo: bool = False

    broker: Literal["memory", "nats"] = "memory"
    cache: Literal["auto", "memory", "database", "nats"] = "auto"
    event_bus: Literal["memory", "nats"] = "memory"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_creds: str = ""
    nats_user: str = ""
    nats_password: str = ""
    nats_token: str = ""
    nats_tls: bool = False
    nats_stream: str = "MAS_TASKS"
    nats_subject: str = "mas.tasks"
    nats_kv_prefix: str = "mas_cache"
    nats_ack_wait_s: float = 30.0
    nats_replicas: int = 1
    """JetStream copies of the task stream and the KV buckets mas creates: 3 on a three-node
    cluster (deploy/compose.yaml), so one node may die without losing them. Applied when mas
    creates a stream or bucket; an existing one keeps its own (``nats stream edit``)."""

    worker_concurrency: int = 50
    import_writers: Annotated[int, msgspec.Meta(ge=1, le=16)] = 2
    """Transactions that write one import's rows at the same time (PostgreSQL; SQLite has one
    writer). Each takes a database connection and a share of a core."""
    workflow_step_batch: int = 200
    """``workflow.step`` deliveries a worker on NATS runs in one transaction (at most)."""
    workflow_step_linger_ms: float = 20.0
    """How long a step waits for others to join its batch."""
    workflow_step_batches: int = 2
    """Step batches a worker runs at once (each holds one database connection)."""
    scheduler_lease_s: float = 15.0
    scheduler_catchup_s: float = 300.0
    """A scheduler taking the lease fires the cron ticks missed since the last leader's last
    firing, but none older than this: a longer gap with no scheduler at all skips them."""
    release_interval_s: float = 1.0
    cron_overrides: dict[str, str] = {}
    run_scheduler_in_server: bool = False
    sse_keepalive_s: float = 15.0
    """Seconds between keep-alive comments on an idle ``GET /api/events/stream``."""
    sse_max_lifetime_s: float = 900.0
    """A stream ends after this long (no longer than an access token lives); the client
    reconnects with ``Last-Event-ID`` and is authenticated again, so a blocked user or an
    expired token does not keep a stream open, and a stopping server is not held for hours."""

    jwt_secret: str = ""
    access_ttl_s: int = 900
    refresh_ttl_s: int = 604800
    refresh_reuse_interval_s: int = 30
    encryption_key: str = ""
    google_client_id: str = ""
    google_client_secret: str = ""
    """With ``google_client_id``: mentors connect Google Calendar (mentorship.md §6)."""
    google_oauth_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_oauth_token_url: str = "https://oauth2.googleapis.com/token"
    google_calendar_api_base: str = "https://www.googleapis.com"
    google_calendar_redirect_url: str = ""
    """Google's callback after consent (registered with the OAuth client); empty:
    ``public_base_url`` + ``/api/mentors/me/calendar/callback``."""
    master_password_hash: str = ""
    master_totp_secret: str = ""
    impersonation_enabled: bool = False

    storage: Literal["local", "s3"] = "local"
    storage_dir: str = "./var/storage"

    mail_transport: Literal["local", "smtp"] = "local"
    mail_from: str = "MAS <no-reply@myanalyticsschool.com>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_pass: str = ""
    smtp_starttls: bool = True
    smtp_implicit_tls: bool = False
    smtp_timeout_ms: int = 8000

    # Communications (communications.md). Each channel is off until configured: a send to an
    # unconfigured channel is kept (SUPPRESSED / pending), a call or SMS answers 503.
    public_base_url: str = "http://127.0.0.1:8000"
    """How providers reach our webhooks (Exotel's status callbacks are built from it)."""
    encryption_key_version: int = 1
    """The key version new ciphertexts are sealed with (``encryption_key``)."""
    retired_encryption_keys: dict[str, str] = {}
    """Earlier keys by version ("1": "…"), kept to open what they sealed."""
    whatsapp_provider: Literal["none", "meta", "aisensy", "fake"] = "none"
    """``fake``: the in-process provider (the demo data; nothing leaves the machine)."""
    whatsapp_meta_base_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_meta_token: str = ""
    whatsapp_meta_phone_number_id: str = ""
    whatsapp_meta_waba_id: str = ""
    whatsapp_meta_app_secret: str = ""
    """Checks ``X-Hub-Signature-256`` on Meta's webhooks."""
    whatsapp_meta_verify_token: str = ""
    """Echoed in Meta's subscription handshake (``hub.verify_token``)."""
    whatsapp_aisensy_base_url: str = "https://backend.aisensy.com"
    whatsapp_aisensy_api_key: str = ""
    whatsapp_aisensy_webhook_secret: str = ""
    whatsapp_quiet_start: str = "21:00"
    whatsapp_quiet_end: str = "09:00"
    """Marketing sends to leads wait outside 09:00-21:00 (IST, ``timezone``)."""
    exotel_base_url: str = "https://api.exotel.com"
    exotel_subdomain: str = ""
    exotel_sid: str = ""
    exotel_api_key: str = ""
    exotel_api_token: str = ""
    exotel_caller_id: str = ""
    exotel_webhook_token: str = ""
    """The ``?token=`` Exotel's callbacks carry (derived from the secrets when unset)."""
    notification_daily_cap: int = 3
    """In-app notifications a student (role USER) gets per IST day."""

    # Tokens, purchases, earnings (tokens-earnings.md). Money is integer paise.
    token_value_paise: int = 35000
    """What a mentor earns per token a completed meeting consumed (₹350)."""
    token_price_paise: int = 35000
    """The price of one token in the default packs (GST-inclusive)."""
    token_packs: list[dict[str, Any]] = []
    """Packs on sale: [{"code": "T5", "quantity": 5, "price_paise": 165000}]; empty → T1..T10
    at ``token_price_paise`` each."""
    min_withdrawal_paise: int = 50000
    enable_token_governance: bool = False
    """Allotment requests decided by batch leads; off → their routes answer 404."""
    min_verified_minutes: int = 10
    """Minutes a meeting's student and mentor must be in its room together (inside the slot)
    for its attendance to count as verified (completion, earnings)."""
    ai_caller: Literal["none", "fake"] = "none"
    """Who places the workflow engine's AI calls until Mr. Hire's voice domain provides a real
    caller (``Module.provides["ai_caller"]``): ``none`` fails an ``ai_call`` node at once
    ("AI calling is not configured"); ``fake`` (``make run``, the tests) records each call and
    places none (a waiting node resumes at its timeout with ``TIMEOUT``)."""
    payments_provider: Literal["none", "razorpay", "fake"] = "none"
    """``fake``: the in-process gateway (``make run``: buy tokens with a test signature)."""
    razorpay_base_url: str = "https://api.razorpay.com"
    razorpay_key_id: str = ""
    razorpay_key_secret: str = ""
    razorpay_webhook_secret: str = ""
    razorpayx_account_number: str = ""
    """The RazorpayX account payouts are drawn from; unset → payouts are MANUAL only."""
    supplier_gstin: str = ""
    """The company's GSTIN on every invoice (its state = the first two digits); unset → drafting
    and issuing invoices answer 503 ``integration_not_configured`` (payments are still mirrored)."""
    supplier_name: str = "My Analytics School"
    """The supplier's name printed on invoice PDFs and their mails."""
    auto_issue_token_invoices: bool = True
    """Token-purchase payments get their tax invoice issued (not only drafted) when captured."""
    s3_bucket: str = ""
    """``storage=s3``: the bucket files and recordings go to (unset → storage answers 503)."""
    s3_region: str = ""
    s3_endpoint_url: str = ""
    """A non-AWS endpoint (MinIO, moto); path-style addressing is used then."""
    s3_access_key_id: str = ""
    """Empty → boto's own credential chain (environment, instance role)."""
    s3_secret_access_key: str = ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_cache(self) -> Literal["memory", "database", "nats"]:
        """The cache ``auto`` stands for: memory while one process does everything, NATS KV
        when NATS is in use anyway, otherwise the database every process shares."""
        if self.cache != "auto":
            return self.cache
        if self.single_process:
            return "memory"
        if "nats" in (self.broker, self.event_bus):
            return "nats"
        return "database"

    @property
    def single_process(self) -> bool:
        """One HTTP worker that also runs the tasks (no second process reads the cache)."""
        return self.http_workers <= 1 and self.broker == "memory"

    @property
    def var_dir(self) -> Path:
        """Where the embedded default keeps its files: beside the SQLite database (``./var``)."""
        if self.is_sqlite and "///" in self.database_url:
            path = self.database_url.split("///", 1)[1].split("?", 1)[0]
            if path and path != ":memory:" and not path.startswith("file:"):
                return Path(path).expanduser().parent
        return VAR_DIR

    @property
    def effective_jwt_secret(self) -> str:
        """``jwt_secret``, or this installation's generated secret (made on first use)."""
        return self.jwt_secret or installation_secret(self.var_dir)

    @property
    def nats_has_credentials(self) -> bool:
        in_url = "@" in self.nats_url.split("://", 1)[-1]
        return bool(
            self.nats_creds or (self.nats_user and self.nats_password) or self.nats_token or in_url
        )

    def problems(self) -> list[str]:
        """What these settings may not start with (empty when they are fine): in every
        environment, a process-local cache read by several processes; with ``MAS_ENV=prod``,
        the insecure defaults of the embedded setup too."""
        found = []
        if self.cache == "memory" and not self.single_process:
            several = (
                f"MAS_HTTP_WORKERS={self.http_workers}"
                if self.http_workers > 1
                else f"MAS_BROKER={self.broker} (separate worker processes)"
            )
            found.append(
                f"MAS_CACHE=memory keeps ended sessions and rate limits inside one process, but "
                f"{several} runs several: set MAS_CACHE=auto (or database, or nats), or "
                "MAS_HTTP_WORKERS=1 with MAS_BROKER=memory"
            )
        if self.env != "prod":
            return found
        published = hashlib.sha256(self.jwt_secret.encode()).hexdigest() in _PUBLISHED_SECRETS
        if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES or published:
            found.append(
                "MAS_JWT_SECRET must be set to a random value of at least 32 bytes, the same on "
                "every machine (without it each machine would make its own)"
            )
        uses_nats = "nats" in (self.broker, self.effective_cache, self.event_bus)
        if uses_nats and not self.nats_has_credentials:
            found.append(
                "NATS is used without credentials: set MAS_NATS_CREDS, "
                "MAS_NATS_USER/MAS_NATS_PASSWORD or MAS_NATS_TOKEN"
            )
        if self.is_sqlite:
            found.append("MAS_DATABASE_URL points at SQLite; production runs on PostgreSQL")
        if not self.encryption_key:
            found.append("MAS_ENCRYPTION_KEY must be set (it encrypts stored credentials)")
        if self.payments_provider == "fake":
            found.append("MAS_PAYMENTS_PROVIDER=fake takes no money; production uses razorpay")
        if self.ai_caller == "fake":
            found.append("MAS_AI_CALLER=fake places no call; production needs a real AI caller")
        if self.whatsapp_provider == "fake":
            found.append(
                "MAS_WHATSAPP_PROVIDER=fake sends nothing; production uses meta, aisensy or none"
            )
        return found

    def public_view(self) -> dict[str, Any]:
        """Every setting with secrets replaced by whether they are set."""
        secret = {
            "jwt_secret",
            "encryption_key",
            "google_client_secret",
            "nats_password",
            "nats_token",
            "smtp_pass",
            "retired_encryption_keys",
            "whatsapp_meta_token",
            "whatsapp_meta_app_secret",
            "whatsapp_meta_verify_token",
            "whatsapp_aisensy_api_key",
            "whatsapp_aisensy_webhook_secret",
            "exotel_api_key",
            "exotel_api_token",
            "exotel_webhook_token",
            "razorpay_key_secret",
            "razorpay_webhook_secret",
            "s3_secret_access_key",
            "master_password_hash",
            "master_totp_secret",
            "metrics_token",
        }
        view: dict[str, Any] = msgspec.to_builtins(self)
        for name in secret:
            view[name] = "(set)" if view[name] else "(not set)"
        view["database_url"] = _hide_password(self.database_url)
        view["nats_url"] = _hide_password(self.nats_url)
        return view


def _hide_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    creds, host = authority.rsplit("@", 1)
    user, has_password, _ = creds.partition(":")
    # user:password keeps the user; a bare token (nats://TOKEN@host) is hidden whole.
    shown = f"{user}:***" if has_password else "***"
    return f"{scheme}://{shown}@{host}{slash}{path}"


def _env_values(environ: Mapping[str, str]) -> dict[str, Any]:
    fields = {f.name: f.type for f in msgspec.structs.fields(Settings)}
    values: dict[str, Any] = {}
    for name, kind in fields.items():
        raw = environ.get(f"MAS_{name.upper()}")
        if raw is None:
            continue
        origin = getattr(kind, "__origin__", kind)
        if origin in (list, dict):
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError:
                if origin is dict:
                    raise SettingsError(f"MAS_{name.upper()} must be a JSON object") from None
                values[name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            values[name] = raw
    return values


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    if DEFAULT_FILE.exists():
        merged.update(_read_toml(DEFAULT_FILE))
    extra = env.get("MAS_CONFIG")
    if extra:
        merged.update(_read_toml(Path(extra)))
    merged.update(_env_values(env))
    merged.update(overrides or {})
    try:
        return msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid setting: {exc}") from None


def check_startup(settings: Settings) -> None:
    """Refuse to start on settings that are unsafe (``problems``)."""
    problems = settings.problems()
    if problems:
        lines = "\n  - ".join(problems)
        scope = " with MAS_ENV=prod" if settings.env == "prod" else ""
        raise SettingsError(f"refusing to start{scope}:\n  - {lines}")


def installation_secret(folder: Path) -> str:
    """The random secret of the installation kept in ``folder``, made on first use (mode 0600).

    The file appears complete or not at all: the secret is written to a file of this process's
    own (``O_EXCL``) and hard-linked into place, which fails when the name exists. Processes
    starting together (two HTTP workers) each try; one link wins and all read the winner's.
    """
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        draft = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the secret
        finally:
            draft.unlink(missing_ok=True)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{path} holds no usable secret; delete it to make a new one (everyone signs in "
            "again), or set MAS_JWT_SECRET"
        )
    return secret
