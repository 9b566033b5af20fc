"""Settings, read once from the environment, with defaults for the embedded mode."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from connectors.http import OutboundProxy
from connectors.media import DEFAULT_MAX_PIXELS

MAX_TOKEN_DAYS = 36_500  # a hundred years: the longest lifetime an API token may be given


def _outbound_proxy(value: str | None) -> OutboundProxy | None:
    """PROCESSCAFE_OUTBOUND_PROXY, checked at startup; the error never repeats the value (it may
    carry the proxy's password). HTTP(S)_PROXY are not read: connectors use this proxy or none."""
    if not (value or "").strip():
        return None
    try:
        return OutboundProxy.from_url(value or "")
    except ValueError as err:
        raise ValueError(f"PROCESSCAFE_OUTBOUND_PROXY is not a proxy URL (http://[user:password@]host:port): "
                         f"{err}") from None


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: str = ""
    admin_password: str | None = None
    job_runner: str = "thread"  # "thread" (embedded), "celery" (scaled out) or "none" (tests)
    broker_url: str = ""  # the Celery broker of the scaled-out mode: redis://... or amqp://...
    celery_queue: str = "processcafe.jobs"  # one per installation when several share a broker
    deploy_examples: bool = True
    script_time_limit: float = 5.0
    step_budget: int = 200
    max_upload_bytes: int = 10 * 1024 * 1024
    max_diagram_bytes: int = 5 * 1024 * 1024
    max_variables_bytes: int = 1024 * 1024  # JSON size of one request's variables (or settings)
    max_image_pixels: int = DEFAULT_MAX_PIXELS  # per image (all frames); checking needs ~9-19 bytes each
    job_poll_interval: float = 0.5
    public_url: str = "http://127.0.0.1:5000"  # how people reach this server: links in posts point here
    # web sign-in: failed attempts allowed per user name and address, and per address alone;
    # counted in memory per server process unless a shared store is named (e.g. redis://host:6379)
    login_limit: str = "5 per minute"
    login_address_limit: str = "60 per hour"
    rate_limit_storage: str = "memory://"
    secure_cookies: bool = False  # force Secure session cookies (behind a TLS proxy); https sets it anyway
    # API tokens: days a new token lives when its request names none (0: never expires), and the
    # most days a token may be asked for (0: no maximum, tokens that never expire allowed)
    token_days: int = 90
    token_max_days: int = 0
    outbound_proxy: OutboundProxy | None = None  # every connector's HTTP goes through it (not SMTP)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        data_dir = Path(env.get("PROCESSCAFE_DATA", "data"))
        base = cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL", ""),
            secret_key=env.get("PROCESSCAFE_SECRET_KEY", ""),
            admin_password=env.get("PROCESSCAFE_ADMIN_PASSWORD") or None,
            job_runner=env.get("PROCESSCAFE_JOB_RUNNER", "thread"),
            broker_url=env.get("BROKER_URL", ""),
            celery_queue=env.get("PROCESSCAFE_CELERY_QUEUE", "processcafe.jobs"),
            deploy_examples=_bool(env.get("PROCESSCAFE_EXAMPLES"), True),
            script_time_limit=float(env.get("PROCESSCAFE_SCRIPT_TIME_LIMIT", "5")),
            step_budget=int(env.get("PROCESSCAFE_STEP_BUDGET", "200")),
            max_upload_bytes=int(env.get("PROCESSCAFE_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
            max_diagram_bytes=int(env.get("PROCESSCAFE_MAX_DIAGRAM_BYTES", str(5 * 1024 * 1024))),
            max_variables_bytes=int(env.get("PROCESSCAFE_MAX_VARIABLES_BYTES", str(1024 * 1024))),
            max_image_pixels=int(env.get("PROCESSCAFE_MAX_IMAGE_PIXELS", str(DEFAULT_MAX_PIXELS))),
            public_url=env.get("PROCESSCAFE_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
            login_limit=env.get("PROCESSCAFE_LOGIN_LIMIT", "5 per minute"),
            login_address_limit=env.get("PROCESSCAFE_LOGIN_ADDRESS_LIMIT", "60 per hour"),
            rate_limit_storage=env.get("PROCESSCAFE_RATE_LIMIT_STORAGE", "memory://"),
            secure_cookies=_bool(env.get("PROCESSCAFE_SECURE_COOKIES"), False),
            token_days=int(env.get("PROCESSCAFE_TOKEN_DAYS", "90")),
            token_max_days=int(env.get("PROCESSCAFE_TOKEN_MAX_DAYS", "0")),
            outbound_proxy=_outbound_proxy(env.get("PROCESSCAFE_OUTBOUND_PROXY")),
        )
        return replace(base, **overrides).resolved()

    def resolved(self) -> Settings:
        """Fill in what depends on the data folder: the SQLite file and a persistent secret key.
        A token lifetime default beyond the maximum (or "never" under one) becomes the maximum."""
        if not (0 <= self.token_days <= MAX_TOKEN_DAYS and 0 <= self.token_max_days <= MAX_TOKEN_DAYS):
            raise ValueError(f"PROCESSCAFE_TOKEN_DAYS and PROCESSCAFE_TOKEN_MAX_DAYS are 0 to {MAX_TOKEN_DAYS} days")
        token_days = self.token_days
        if self.token_max_days and not 0 < token_days <= self.token_max_days:
            token_days = self.token_max_days
        data_dir = Path(self.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        url = self.database_url or f"sqlite:///{(data_dir / 'processcafe.db').resolve()}"
        key = self.secret_key or _secret_from_file(data_dir / "secret.key")
        return replace(self, data_dir=data_dir, database_url=url, secret_key=key, token_days=token_days)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _secret_from_file(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
