"""Jobs: their kinds, states and allowed transitions, options, counters and API views."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    computed_field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from bulkport.rules.dates import DateOrder
from bulkport.rules.text import CONTROL_CLASS, refuse_control
from bulkport.schemas.customer_body import Email
from bulkport.schemas.mappings import ColumnRule, ColumnRules, ImportMapping, MappingName
from bulkport.schemas.row_ranges import RANGES_PATTERN, RowRanges


class JobKind(StrEnum):
    """What a job does; a kind is added with the code that runs it."""

    IMPORT = "import"
    EXPORT = "export"
    DELETE = "delete"
    MERGE = "merge"
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    PRIVACY_EXPORT = "privacy_export"
    UNDO = "undo"


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
DELIMITERS = (",", ";", "\t", "|", *_DELIMITER_WORDS)
# The schema lists the words: the characters are taken too, but a generated client can name
# no enum constant after a comma or a tab.
DELIMITER_NAMES = ("comma", "semicolon", "tab", "pipe")
# The encodings a store's files come in; a name is taken exactly as written here.
ENCODINGS: tuple[str, ...] = (
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "ascii",
    "cp1252", "windows-1252", "latin-1", "iso-8859-1", "iso-8859-15", "mac-roman",
    "cp1250", "windows-1250", "iso-8859-2", "cp1251", "windows-1251", "koi8-r",
    "cp1253", "windows-1253", "cp1254", "windows-1254", "cp1257", "windows-1257",
    "cp437", "cp850", "cp852", "shift_jis", "cp932", "euc-jp", "gb18030", "gbk", "big5",
    "euc-kr", "cp949",
)  # fmt: skip
ENCODING_NAMES = ENCODINGS
# A job keeps the codec's own name (latin-1 → iso8859-1): that is taken too, though not listed
# in the schema, where `euc_jp` beside `euc-jp` would give a generated client one constant.
ENCODINGS += tuple(sorted({codecs.lookup(e).name for e in ENCODINGS}.difference(ENCODINGS)))


# Pydantic's own reading of a boolean, as a FastAPI app takes one in a query or a form.
_BOOLEAN = TypeAdapter(bool)


def _form_bool(value: object) -> object:
    """A boolean as a form or query sends one: true/false, 1/0, yes/no, on/off, in any case."""
    try:
        return _BOOLEAN.validate_python(value)
    except ValidationError:
        raise PydanticCustomError(
            "bool_type", "must be true or false (yes/no, on/off and 1/0 are taken too)"
        ) from None


def _form_int(value: object) -> object:
    """A whole number, or a form's digits for one (no sign, no leading zero, no spaces)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"0|[1-9][0-9]{0,17}", value):
        return int(value)
    raise PydanticCustomError("int_type", "must be a whole number")


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise PydanticCustomError(
                "choice", "must be one of: {choices}", {"choices": ", ".join(map(repr, choices))}
            )
        return value

    return check


FormBool = Annotated[bool, BeforeValidator(_form_bool), WithJsonSchema({"type": "boolean"})]
# Excel's rule for a sheet name, less what a form field cannot tell from another type.
SHEET_PATTERN = (
    "^(?!(?:true|false|null|\\{\\}|\\[\\]"
    "|-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$)"
    f"[^{CONTROL_CLASS}:\\\\/?*\\[\\]]{{1,31}}$"
)
_SHEET = re.compile(SHEET_PATTERN)


def _sheet_name(value: str) -> str:
    refuse_control(value)
    if not _SHEET.fullmatch(value):
        raise PydanticCustomError(
            "sheet_name",
            "is 1 to 31 characters, none of : \\ / ? * [ ], and not a number, true, false or null",
        )
    return value


SheetName = Annotated[
    str,
    AfterValidator(_sheet_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 31, "pattern": SHEET_PATTERN}),
]
HeaderRow = Annotated[
    int,
    BeforeValidator(_form_int),
    Field(ge=1, le=10_000_000),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": 10_000_000}),
]
Encoding = Annotated[
    str,
    AfterValidator(_one_of(ENCODINGS)),
    WithJsonSchema({"type": "string", "enum": list(ENCODING_NAMES)}),
]
Delimiter = Annotated[
    str,
    AfterValidator(_one_of(DELIMITERS)),
    WithJsonSchema({"type": "string", "enum": list(DELIMITER_NAMES)}),
]


_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}"
# An absolute http(s) address with an ASCII host name, IPv4 or [IPv6] literal, as the document
# states it: one pattern, so that what it allows is what is taken.
NOTIFY_URL_PATTERN = (
    rf"^https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]{{2,45}}\])(?::(?:{_PORT}))?"
    r"(?:[/?#][!-~]*)?$"
)
# Where a job's end is POSTed; whether its host may be reached is checked with the settings
# (tasks/notifications.py), since that needs the resolver.
NotifyUrl = Annotated[str, Field(max_length=2000, pattern=NOTIFY_URL_PATTERN)]


class JobNotice(BaseModel):
    """Who is told when a job ends: the options every job-making request takes."""

    notify_url: NotifyUrl | None = Field(
        default=None,
        description="An http(s) address that gets a signed POST of the job when it ends "
        "(see docs/notifications.md); default: the store's.",
    )
    notify_email: Email | None = Field(
        default=None,
        description="An address to tell when the job ends (kept with the job; sending is not "
        "yet done).",
    )


# Options bulkport sets itself, never a form's: the file's own name, the job a retry retries,
# the job whose failed rows a fix imports.
NOT_FORM_FIELDS = ("filename", "retry_of", "fix_of")


class ImportOptions(JobNotice):
    """Options of an import job, recorded with it; all but the file have sensible defaults."""

    model_config = ConfigDict(extra="forbid")

    mode: ImportMode = ImportMode.UPSERT
    dry_run: FormBool = False
    blank_cells: BlankCells = BlankCells.KEEP
    match_on: MatchOn | None = Field(
        default=None, description="Default: the Customer Record ID where filled, else email."
    )
    filename: str = Field(default="upload.csv", max_length=255)
    encoding: Encoding | None = Field(default=None, description="CSV only; default: detected.")
    delimiter: Delimiter | None = Field(
        default=None,
        description="CSV only; default: detected. The character itself (`,` `;` `|`, a tab) "
        "is taken too.",
    )
    sheet: SheetName | None = Field(
        default=None,
        description="XLSX only; default: the first sheet. A name as Excel allows it (1 to 31 "
        "characters, none of : \\ / ? * [ ]) that a form cannot mistake for a number, true, "
        "false or null.",
    )
    header_row: HeaderRow | None = Field(default=None, description="Default: detected.")
    date_order: DateOrder | None = Field(
        default=None, description="Default: decided per column from its values."
    )
    mapping: ImportMapping | None = Field(
        default=None,
        description="Header as written → field key (its label is taken too; `GET /api/v1/fields` "
        "lists both); an empty field ignores the column.",
    )
    mapping_name: MappingName | None = Field(
        default=None, description="A saved mapping to use (see /mappings)."
    )
    column_rules: ColumnRules | None = Field(
        default=None,
        description="Field key → `overwrite`, `fill_empty` or `keep`: what an update does with "
        "a stored value (a JSON part in a form). A saved mapping's rules come first; these "
        "replace them field by field.",
    )
    backup: FormBool = Field(
        default=False, description="Export the store's customers first, linked from the job."
    )
    only_rows: str | None = Field(
        default=None,
        max_length=100_000,
        pattern=RANGES_PATTERN,
        description="Import only these rows of the file, by their spreadsheet row numbers, as "
        "ranges (`2-5,17,40-`; `40-` runs to the end). Row numbers stay the file's.",
    )
    retry_of: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{32}$",
        description="Set by a retry: the import whose rows this job runs again.",
    )
    fix_of: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{32}$",
        description="Set by a fix: the import whose failed rows, edited, this job imports.",
    )

    @field_validator("encoding", mode="before")
    @classmethod
    def _blank_encoding(cls, value: object) -> object:
        return value or None

    @field_validator("encoding")
    @classmethod
    def _codec_name(cls, value: str | None) -> str | None:
        return codecs.lookup(value).name if value else None

    @field_validator("delimiter", mode="before")
    @classmethod
    def _blank_delimiter(cls, value: object) -> object:
        return value or None

    @field_validator("delimiter")
    @classmethod
    def _delimiter_character(cls, value: str | None) -> str | None:
        return _DELIMITER_WORDS.get(value, value) if value else None

    @field_validator("only_rows")
    @classmethod
    def _row_ranges(cls, value: str | None) -> str | None:
        return str(RowRanges.parse(value)) if value else None

    @field_validator("column_rules")
    @classmethod
    def _no_rules(cls, value: dict[str, ColumnRule] | None) -> dict[str, ColumnRule] | None:
        return value or None  # the planner checks for rules with one test

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


# Characters of a job's error a list shows.
SUMMARY_CHARS = 200


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
    notification: dict[str, object] | None = Field(
        default=None, description="The end-of-job POST: its address, state and attempts."
    )


class JobSummary(BaseModel):
    """A job in a list: what it is and how it stands; the whole job is at ``links.self``."""

    id: str
    kind: JobKind
    status: JobStatus
    counts: Counts
    progress: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description=f"The first {SUMMARY_CHARS} characters of the error.")
    files_expired_at: datetime | None
    links: dict[str, str]

    @classmethod
    def of(cls, view: JobView) -> JobSummary:
        """The summary of a job's full view."""
        error = view.error
        if error is not None and len(error) > SUMMARY_CHARS:
            error = error[: SUMMARY_CHARS - 1] + "…"
        return cls.model_validate(
            {**view.model_dump(include=set(cls.model_fields)), "error": error}
        )


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
