"""The one place that reads the environment: every setting, prefixed ``BULKPORT_``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bulkport.read_limits import ReadLimits

# How Celery (kombu) names a Redis on a Unix socket; redis-py says unix:// instead.
SOCKET_SCHEME = "redis+socket://"
# What S3 accepts as a bucket name.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# The source checkout this package runs from, if any (an editable install or a plain clone).
CHECKOUT = Path(__file__).resolve().parent.parent


def default_home() -> Path:
    """Where bulkport keeps its files when BULKPORT_HOME is unset.

    The checkout's ``var/`` when bulkport runs from a source checkout, else the per-user data
    folder (``$XDG_DATA_HOME/bulkport``, by default ``~/.local/share/bulkport``). Never the
    folder a command happens to run in.
    """
    if (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "bulkport").is_dir():
        return CHECKOUT / "var"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "bulkport"


@dataclass(frozen=True)
class S3Location:
    """An S3 file store's bucket and key prefix (no slash at either end; may be empty)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """``s3://bucket/prefix``; ``ValueError`` in plain words for anything else."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not _BUCKET.match(parts.netloc) or parts.query:
            raise ValueError(
                "the file store is s3://BUCKET or s3://BUCKET/PREFIX (a local folder is "
                "set with BULKPORT_FILES_DIR)"
            )
        return cls(parts.netloc, parts.path.strip("/"))


class Settings(BaseSettings):
    """bulkport's settings; each is read from ``BULKPORT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BULKPORT_", extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        description="Folder for the SQLite file, the file store, the private Redis and "
        "generated secrets; default: var/ of the source checkout, else ~/.local/share/bulkport.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file bulkport.db under HOME."
    )
    broker_url: str | None = Field(
        default=None,
        description="Redis URL of the Celery broker. While `bulkport up` runs, every command "
        "of the same HOME uses that stack's broker instead. Unset: `bulkport up` starts a "
        "private Redis; job commands refuse to queue (use --inline); `bulkport api`, `worker` "
        "and `beat` use redis://127.0.0.1:6379/0.",
    )
    files_dir: Path | None = Field(
        default=None, description="Folder of the file store; default: HOME/files."
    )
    erasure_log_file: Path | None = Field(
        default=None,
        description="Append-only list of erased customers (ids, store, time), kept apart from "
        "the database so that `bulkport privacy replay` erases them again after a restore; "
        "default: HOME/erasure-log.jsonl (also with an S3 file store).",
    )
    pg_bin: Path | None = Field(
        default=None,
        description="Folder of pg_dump and pg_restore for `bulkport backup` and `restore` on "
        "PostgreSQL (of the server's major version or newer); default: the PATH.",
    )
    file_store: str | None = Field(
        default=None,
        description="Where job files live: unset, the local folder (FILES_DIR); "
        "s3://BUCKET/PREFIX, an S3 bucket (several machines share it).",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint (MinIO, Ceph, another cloud's S3); unset: AWS, or what "
        "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL name.",
    )
    s3_public_url: str | None = Field(
        default=None,
        description="The S3 address in download links, where browsers reach S3 by another "
        "address than the servers do (e.g. a MinIO in a compose network); unset: the endpoint.",
    )
    s3_region: str | None = Field(
        default=None, description="S3 region; unset: AWS_REGION / AWS_DEFAULT_REGION."
    )
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key; unset: boto3's usual chain (AWS_ACCESS_KEY_ID, "
        "~/.aws, an instance role).",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret key, with S3_ACCESS_KEY_ID; never logged."
    )
    s3_link_seconds: int = Field(
        default=60,
        ge=1,
        le=604_800,
        description="How long a presigned S3 download link works (a signed link's download "
        "answers with a redirect to one).",
    )
    batch_size: int = Field(default=1000, ge=1, le=100_000, description="Rows per transaction.")
    chunk_rows: int = Field(
        default=100_000,
        ge=1,
        description="An import of more data rows than this is split into chunks of this many "
        "rows, which any number of workers import in parallel (docs/split-imports.md).",
    )
    max_upload_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="Largest upload accepted (413 above)."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs links and sessions; default: generated once into HOME.",
    )
    job_lease_seconds: int = Field(
        default=15,
        ge=5,
        description="How long a worker's claim on a job lasts unless renewed; a live job "
        "renews it every third of this, so a dead worker's job is taken up soon after.",
    )
    max_attempts: int = Field(
        default=5, ge=1, description="Times a job may be started before it ends FAILED."
    )
    requeue_after_seconds: int = Field(
        default=300, ge=10, description="A job QUEUED this long is sent to the queue again."
    )
    job_time_limit: int = Field(
        default=4 * 3600, ge=10, description="Seconds a job may run before it is stopped."
    )
    visibility_timeout: int = Field(
        default=3600, ge=60, description="Seconds before Redis re-delivers an unacknowledged task."
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="Let job notifications reach loopback and private addresses (tests, a "
        "local stack); off, such an address is refused when the job is made and when sent.",
    )
    webhook_retry_seconds: int = Field(
        default=24 * 3600,
        ge=1,
        description="Seconds a job notification is retried before it fails.",
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds one job notification may take to be answered."
    )
    worker_concurrency: int = Field(default=2, ge=1, description="Worker processes for `up`.")
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, description="Port the API listens on.")
    flower_host: str = Field(
        default="127.0.0.1", description="Address Flower listens on; keep it private."
    )
    flower_port: int = Field(default=5555, description="Port of Flower.")
    flower_user: str = Field(default="admin", description="Flower basic-auth user.")
    flower_password: SecretStr | None = Field(
        default=None, description="Flower basic-auth password; default: generated into HOME."
    )

    uploads_per_minute: int = Field(
        default=30, ge=0, description="Uploads a user may make a minute (429 above; 0: no limit)."
    )
    max_rows: int = Field(default=2_000_000, ge=1, description="Most data rows a file may have.")
    max_columns: int = Field(default=500, ge=1, description="Most columns a row may have.")
    max_cell_chars: int = Field(default=32_767, ge=1, description="Longest cell, in characters.")
    max_unzipped_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Most bytes an XLSX may inflate to."
    )
    max_zip_ratio: int = Field(
        default=200, ge=1, description="Most an XLSX part may grow when inflated (zip bombs)."
    )
    max_zip_entries: int = Field(default=10_000, ge=1, description="Most parts an XLSX may have.")

    file_ttl: timedelta = Field(
        default=timedelta(days=7),
        description="How long uploads, reports and exports are kept (seconds or ISO 8601).",
    )
    download_link_seconds: int = Field(
        default=300, ge=10, le=86_400, description="How long a signed download link works."
    )

    undo_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days an import can be undone; its undo data is purged after that.",
    )

    token_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days an API token works after it is created; then it must be replaced.",
    )

    @field_validator(
        "database_url", "broker_url", "file_store", "s3_endpoint_url", "s3_public_url",
        "s3_region", "s3_access_key_id",
    )  # fmt: skip
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("file_store")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None:
            S3Location.parse(value)
        return value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        # Resolved once, so that a child process or a later `cd` sees the same folder.
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _broker_of_running_stack(self) -> Settings:
        # A command of a home where `bulkport up` runs sends its jobs where that stack's
        # worker reads them, whatever broker this shell names.
        found = running(self.home)
        if found is not None:
            self.broker_url = found.broker_url
        return self

    @property
    def database(self) -> str:
        """The database URL, SQLite under HOME unless one was configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'bulkport.db'}"

    @property
    def s3_location(self) -> S3Location | None:
        """The bucket and prefix of an S3 file store, None for the local folder."""
        return S3Location.parse(self.file_store) if self.file_store else None

    @property
    def scratch(self) -> Path:
        """Local folder for the passing copies a remote file store makes (readers that seek,
        uploads on their way to the store)."""
        return self.home / "scratch"

    @property
    def erasure_log(self) -> Path:
        """The erasure log's file."""
        return self.erasure_log_file or self.home / "erasure-log.jsonl"

    @property
    def files_root(self) -> Path:
        """Folder of the local file store."""
        return (self.files_dir or self.home / "files").resolve()

    def read_limits(self) -> ReadLimits:
        """The limits every reader enforces while it streams a file."""
        return ReadLimits(
            max_rows=self.max_rows,
            max_columns=self.max_columns,
            max_cell_chars=self.max_cell_chars,
            max_unzipped_bytes=self.max_unzipped_bytes,
            max_entry_bytes=self.max_unzipped_bytes,
            max_ratio=self.max_zip_ratio,
            max_entries=self.max_zip_entries,
        )

    def secret(self) -> str:
        """The signing key: configured, or generated once and kept in HOME."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _kept_secret(self.home / "secret-key")

    def flower_secret(self) -> str:
        """Flower's password: configured, or generated once and kept in HOME."""
        if self.flower_password is not None:
            return self.flower_password.get_secret_value()
        return _kept_secret(self.home / "flower-password")

    # Back-office pages.
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a sign-in to the pages lasts."
    )
    sign_ins_per_minute: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins a minute per email and per client address (429 above).",
    )
    flower_url: str | None = Field(
        default=None,
        description="Flower's address, linked for admins; default http://FLOWER_HOST:FLOWER_PORT/.",
    )

    # The HTTP API's hardening.
    max_json_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body that is not an upload, in bytes (413 above).",
    )
    public_url: str | None = Field(
        default=None,
        description="Address people reach the API at (https://bulkport.example.com); links "
        "are built from it, never from the Host header. Unset: links are paths.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated proxy addresses whose X-Forwarded-For/-Proto are "
        "believed (uvicorn's forwarded_allow_ips); empty: none.",
    )

    @field_validator("public_url")
    @classmethod
    def _public_base(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the public URL is http(s)://host[:port][/path]")
        if parts.query or parts.fragment:
            raise ValueError("the public URL has no query or fragment")
        return value.rstrip("/")

    # Scale-out: queues and taking over jobs whose worker died.
    small_job_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=0,
        description="Imports whose upload is larger go to the `large` queue; smaller ones "
        "and other short jobs to `small`, exports to `exports`.",
    )
    reaper_seconds: float = Field(
        default=10,
        ge=1,
        description="How often beat runs the reaper, which sends again jobs whose lease lapsed.",
    )


def _kept_secret(path: Path) -> str:
    """Read a generated secret, creating it (mode 600) on first use."""
    import secrets

    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    # Created 0600 whatever the umask: the file holds a password.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(value)
    return value


def redis_py_url(url: str) -> str:
    """A broker URL in redis-py's spelling: Celery's ``redis+socket:///path`` is ``unix://``."""
    if url.startswith(SOCKET_SCHEME):
        return "unix://" + url.removeprefix(SOCKET_SCHEME)
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings``)."""
    return Settings()


# The record `bulkport up` keeps in its home (written by ``bulkport.cli.stack``).
RECORD = "stack.json"


@dataclass(frozen=True)
class Stack:
    """What other commands need to know about a running `bulkport up`."""

    pid: int
    broker_url: str
    api_url: str
    flower_url: str


def running(home: Path) -> Stack | None:
    """The stack `bulkport up` runs for this home, if its process is alive."""
    try:
        found = Stack(**json.loads((home / RECORD).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return found if _alive(found.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
