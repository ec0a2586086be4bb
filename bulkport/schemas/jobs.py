"""Jobs: their kinds, states and allowed transitions, options, counters and API views."""

from __future__ import annotations

import codecs
import json
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from bulkport.schemas.dates import DateOrder


class JobKind(StrEnum):
    """What a job does; a kind is added with the code that runs it."""

    IMPORT = "import"
    EXPORT = "export"
    DELETE = "delete"
    MERGE = "merge"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    PRIVACY_EXPORT = "privacy_export"


class JobStatus(StrEnum):
    """Where a job is in its life: QUEUED → PROCESSING → READY | FAILED, or CANCELLED."""

    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        """True once the job can change no more."""
        return not TRANSITIONS[self]


# The one table of allowed moves; storage refuses any other. PROCESSING → PROCESSING is a new
# claim of a job whose previous worker stopped renewing its lease (a redelivery after a crash).
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.PROCESSING: frozenset(
        {JobStatus.PROCESSING, JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    JobStatus.READY: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class RowOutcome(StrEnum):
    """What an import does with one row; each outcome is also the counter the row adds to."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"


def sources_of(target: JobStatus) -> tuple[JobStatus, ...]:
    """The states a job may be in to move to ``target``."""
    return tuple(s for s, targets in TRANSITIONS.items() if target in targets)


class ImportMode(StrEnum):
    """Which rows an import may write: new customers, existing ones, or both."""

    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"


class BlankCells(StrEnum):
    """What a blank cell means for a customer that exists: keep its value, or clear it."""

    KEEP = "keep"
    CLEAR = "clear"


class MatchOn(StrEnum):
    """Which key finds the existing customer a row is about."""

    ID = "id"
    EMAIL = "email"


_DELIMITER_WORDS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}


class ImportOptions(BaseModel):
    """Options of an import job, recorded with it; all but the file have sensible defaults."""

    model_config = ConfigDict(extra="forbid")

    mode: ImportMode = ImportMode.UPSERT
    dry_run: bool = False
    blank_cells: BlankCells = BlankCells.KEEP
    match_on: MatchOn | None = Field(
        default=None, description="Default: the Customer Record ID where filled, else email."
    )
    filename: str = Field(default="upload.csv", max_length=255)
    encoding: str | None = Field(default=None, description="CSV only; default: detected.")
    delimiter: str | None = Field(default=None, description="CSV only; default: detected.")
    sheet: str | None = Field(default=None, description="XLSX only; default: the first sheet.")
    header_row: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Default: detected."
    )
    date_order: DateOrder | None = Field(
        default=None, description="Default: decided per column from its values."
    )
    mapping: dict[str, str] | None = Field(
        default=None,
        description="Header as written → field (label or key); an empty field ignores the column.",
    )
    mapping_name: str | None = Field(
        default=None, max_length=100, description="A saved mapping to use (see /mappings)."
    )
    backup: bool = Field(
        default=False, description="Export the store's customers first, linked from the job."
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None

    @field_validator("delimiter")
    @classmethod
    def _one_delimiter(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = _DELIMITER_WORDS.get(value.lower(), value)
        if value not in (",", ";", "\t", "|"):
            raise ValueError("the delimiter is one of , ; | or tab")
        return value

    @field_validator("mapping", mode="before")
    @classmethod
    def _mapping_from_json(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("mapping must be a JSON object of header → field") from None
        return value


class Counts(BaseModel):
    """A job's row counters. Always ``succeeded + failed + skipped == processed`` and
    ``processed + unprocessed == total``."""

    total: int | None = None
    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unprocessed(self) -> int:
        """Rows a job did not reach (it failed or was cancelled): total minus processed."""
        return max(0, (self.total or 0) - self.processed)


class JobView(BaseModel):
    """A job as the API shows it."""

    id: str
    kind: JobKind
    status: JobStatus
    options: dict[str, object]
    counts: Counts
    progress: float = Field(description="Share of rows processed, 0 to 1.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    mapping: dict[str, str] | None = Field(
        default=None, description="Column header as written → customer field."
    )
    ignored_columns: list[str] | None = None
    source: dict[str, object] | None = Field(
        default=None, description="What was found: format, encoding, delimiter, sheet, header row."
    )
    files_expired_at: datetime | None = Field(
        default=None, description="When retention deleted the job's files (downloads: 410)."
    )
    links: dict[str, str]


class RowErrorView(BaseModel):
    """One problem on one row, pointing at the spreadsheet row and column the person sees."""

    row: int = Field(description="Row number in the spreadsheet; the header is row 1.")
    column: str | None = Field(description="The header as written in the uploaded file.")
    field: str | None
    code: str
    message: str
    value: str | None


class Problem(BaseModel):
    """An API error body."""

    detail: str
