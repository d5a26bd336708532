"""Server settings, read from the environment (and a `.env` file beside the process)."""

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The repository (or, installed, the folder holding the `server` package).
REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Everything the server can be told; the defaults suit one school on one machine.

    There is no signing secret to configure: bearer tokens are random and only their
    hashes are stored, and the database password lives in `DATABASE_URL` alone.
    """

    model_config = SettingsConfigDict(env_prefix="CAREROUNDS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CAREROUNDS_DATABASE_URL")
    )
    data_dir: Path = Path("data")
    token_ttl_days: int = Field(default=30, ge=1, le=365)
    max_login_failures: int = Field(default=5, ge=1, le=100)
    # Failed sign-ins from one address (any usernames) before it waits `lockout_minutes`.
    max_login_failures_per_address: int = Field(default=30, ge=1, le=10_000)
    # Origins allowed to call the API from a browser page of their own (comma-separated);
    # none by default: the app is served from the server's own origin at /app/.
    cors_origins: str = ""
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # How long the server keeps a closed case once it has left the phones (the school's
    # `closed_cases_on_phones_days`), in days after it was closed; unset: forever.
    keep_closed_cases_days: int | None = Field(default=None, ge=1, le=36500)
    # Minutes between two retention sweeps in each server process (0: only
    # `carerounds-server retention`).
    retention_sweep_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    # While the database cannot be reached, requests are answered 503 with this Retry-After.
    retry_after_seconds: int = Field(default=5, ge=1, le=3600)
    # Seconds to wait for a new PostgreSQL connection before answering 503 (libpq's own
    # default is to wait for ever).
    db_connect_timeout_seconds: int = Field(default=10, ge=1, le=600)
    # Requests one server process works on at once (threads of its pool). More would only
    # wait for the database's connections (10 per process) and for each other: Python runs
    # one thread at a time, and 40 threads (anyio's default) contending for it cost CPU.
    request_threads: int = Field(default=10, ge=1, le=200)
    # Days and "due" are counted in the school's own time zone.
    school_timezone: str = "Asia/Shanghai"
    # The app's browser build (scripts/build-web.sh), served at /app/ when it is there.
    web_dir: Path = REPO_ROOT / "build" / "web"

    @field_validator("web_dir")
    @classmethod
    def _web_dir_from_here(cls, value: Path) -> Path:
        """A relative folder means one below the directory the server was started in."""
        return value.resolve()

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The database URL with a driver SQLAlchemy can use (psycopg 3 for PostgreSQL)."""
        if not self.database_url:
            return f"sqlite:///{(self.data_dir / 'carerounds.db').resolve()}"
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")
