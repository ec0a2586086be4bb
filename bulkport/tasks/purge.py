"""Nothing left behind: deleted customers' values removed from stored files, row errors, job
details and the database's own files (docs/privacy.md says what each step guarantees)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from bulkport.errors import JobProblem
from bulkport.read_limits import ReadLimits
from bulkport.schemas.jobs import JobKind
from bulkport.spreadsheets.csvfile import read_csv_rows, sniff_csv, write_csv_rows
from bulkport.spreadsheets.sniff import SNIFF_BYTES, FileFormat, sniff_format
from bulkport.storage import audit
from bulkport.storage import purge as purge_rows_sql
from bulkport.storage.db import now
from bulkport.tasks.context import Context

log = logging.getLogger(__name__)
# Fields whose value alone tells a row is this person's; a name tells it only with the
# surname beside it. Cities, dates or genders are shared by many and prove nothing.
IDENTIFYING_KEYS = (
    "email", "email_key", "phone", "mobile", "company_id_number", "coc_number", "vat_number",
    "sales_tax_number",
)  # fmt: skip
# A phone written another way ("+31 6 1234 5678", "0031612345678") is matched by its digits.
MIN_PHONE_DIGITS = 7
_PHONE_STARTS = frozenset("+(0123456789")
MIN_VALUE_CHARS = 3
RECORD_ID_HEADER = "customer record id"
_NO_LIMIT = 2**62
REMOVED = "Removed"
# How many delete batches' traces one pass of ``purge_pending`` holds in memory and purges:
# 20,000 people at the default batch size, so a million-row delete job reads the store's row
# errors 50 times, not 1,000.
BATCHES_PER_PASS = 20
# Keys of job options and audit details whose text a person typed.
FREE_TEXT_KEYS = frozenset({"filename", "search", "mapping_name", "name"})
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_NON_DIGIT = re.compile(r"\D+")
# Words of a free text: "jane-smith.csv" holds jane, smith and csv; "o'brien" stays whole too.
_WORDS = (re.compile(r"[^\W_]+"), re.compile(r"[\w'-]+"))


@dataclass(frozen=True)
class Traces:
    """What identifies the people being deleted, held in memory only while a delete job runs.

    ``values``: every personal value as stored, stripped and casefolded, of 3+ characters.
    ``identifiers``: the values that alone tell a row is theirs (emails, phones and their
    digits, company and tax numbers); ``names``: (first name, last name) pairs.
    """

    customer_ids: frozenset[int]
    values: frozenset[str]
    identifiers: frozenset[str] = field(default=frozenset())
    names: frozenset[tuple[str, str]] = field(default=frozenset())


def _key(value: object) -> str:
    return str(value).strip().casefold()


def _digits(text: str) -> str:
    return _NON_DIGIT.sub("", text)


def traces_of(conn: Connection, store_id: int, customer_ids: Collection[int]) -> Traces:
    """The traces of the store's customers among ``customer_ids``, read before they are
    erased; customers already erased (a resumed delete job) leave only their ids."""
    values: set[str] = set()
    identifiers: set[str] = set()
    names: set[tuple[str, str]] = set()
    for person in purge_rows_sql.personal_values(conn, store_id, customer_ids):
        for key, value in person.items():
            if value is None or isinstance(value, bool):
                continue
            text = _key(value)
            if len(text) >= MIN_VALUE_CHARS:
                values.add(text)
            if key in IDENTIFYING_KEYS and text:
                identifiers.add(text)
                if key in ("phone", "mobile") and len(_digits(text)) >= MIN_PHONE_DIGITS:
                    identifiers.add(_digits(text))
        first, last = person.get("first_name"), person.get("last_name")
        if first and last:
            names.add((_key(first), _key(last)))
    return Traces(
        customer_ids=frozenset(customer_ids),
        values=frozenset(values),
        identifiers=frozenset(identifiers),
        names=frozenset(names),
    )


class RowMatcher:
    """Tells whether a row of a spreadsheet is about one of the people traced.

    A row is theirs when a cell holds one of their identifiers (an email also inside a longer
    text, a phone also written with other spacing), when it holds a first name and the
    surname that goes with it, or when its Customer Record ID column holds one of their ids.
    """

    def __init__(self, traces: Traces) -> None:
        self.traces = traces
        self.ids = {str(i) for i in traces.customer_ids}
        self.firsts_by_last: dict[str, set[str]] = {}
        for first, last in traces.names:
            self.firsts_by_last.setdefault(last, set()).add(first)
        self.id_columns: list[int] = []

    def matches(self, cells: list[str]) -> bool:
        """Whether the row is theirs; a header row naming Customer Record ID is noted.

        Runs for every row of every stored file: set operations settle most rows in C.
        """
        keys = {c.strip().casefold().removeprefix("'") for c in cells if c}
        if RECORD_ID_HEADER in keys:
            self.id_columns = [i for i, c in enumerate(cells) if _key(c) == RECORD_ID_HEADER]
            return False
        if any(i < len(cells) and cells[i].strip() in self.ids for i in self.id_columns):
            return True
        return self.holds_identifier(keys) or self.holds_name(keys)

    def holds_identifier(self, keys: Collection[str]) -> bool:
        """Whether one of these casefolded texts holds an identifier."""
        identifiers = self.traces.identifiers
        if not identifiers.isdisjoint(keys):
            return True
        for key in keys:
            if "@" in key and any(m in identifiers for m in _EMAIL.findall(key)):
                return True
            # Only a text that starts like a phone number is read for its digits.
            if (
                len(key) >= MIN_PHONE_DIGITS
                and key[0] in _PHONE_STARTS
                and _digits(key) in identifiers
            ):
                return True
        return False

    def holds_name(self, keys: Collection[str]) -> bool:
        """Whether these texts hold a first name together with its surname."""
        surnames = self.firsts_by_last.keys() & keys
        return any(not self.firsts_by_last[last].isdisjoint(keys) for last in surnames)


# --- Stored files ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sheet:
    format: FileFormat
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet_name: str = "Customers"


@contextmanager
def _open_rows(path: Path, limits: ReadLimits) -> Iterator[_Sheet]:
    """Every row of a stored spreadsheet, from row 1, as the job readers read it."""
    with path.open("rb") as handle:
        kind = sniff_format(handle.read(SNIFF_BYTES))
    if kind is FileFormat.XLSX:
        from bulkport.spreadsheets.xlsx.reader import open_xlsx

        with open_xlsx(path, limits=limits) as book:
            yield _Sheet(kind, book.rows, sheet_name=book.sheet_name)
        return
    fmt = sniff_csv(path)
    yield _Sheet(kind, read_csv_rows(path, fmt, limits), fmt.encoding, fmt.delimiter)


def _matching_rows(path: Path, traces: Traces, limits: ReadLimits, *, zipped: bool) -> list[int]:
    """The numbers of the rows of theirs in a stored file, as the job readers number them (an
    upload's are the rows its job's row errors name)."""
    if zipped:
        return _zip_matching_rows(path, traces)
    matcher = RowMatcher(traces)
    with _open_rows(path, limits) as sheet:
        return [row for row, cells in sheet.rows if matcher.matches(cells)]


def _zip_matching_rows(path: Path, traces: Traces) -> list[int]:
    """Rows of theirs in a privacy export: a zip of UTF-8 CSV files, which bulkport wrote."""
    found: list[int] = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".csv"):
                matcher = RowMatcher(traces)
                with io.TextIOWrapper(archive.open(name), encoding="utf-8-sig", newline="") as text:
                    found += [
                        n for n, cells in enumerate(csv.reader(text), 1) if matcher.matches(cells)
                    ]
    return found


def _rewrite_without(ctx: Context, key: str, traces: Traces, limits: ReadLimits) -> None:
    """Write the file again, less their rows, in its own format; it replaces the old one only
    once whole (``FileStore.writer``), so a crash leaves the old file, purged on the next run.
    """
    from bulkport.spreadsheets.csvfile import CsvFormat

    matcher = RowMatcher(traces)
    with (
        ctx.files.local(key) as path,
        _open_rows(path, limits) as sheet,
        ctx.files.writer(key) as out,
    ):
        kept = (cells for _, cells in sheet.rows if not matcher.matches(cells))
        if sheet.format is FileFormat.XLSX:
            from bulkport.spreadsheets.xlsx.writer import write_xlsx_rows

            write_xlsx_rows(out, sheet.sheet_name, kept)
        else:
            write_csv_rows(out, CsvFormat(sheet.encoding, sheet.delimiter), kept)


def _rewritable(stored: purge_rows_sql.StoredFile) -> bool:
    """Exports and backups (export jobs) are kept for the others in them; an upload, a report
    or a privacy export is the person's own or derived from an upload, so it is deleted."""
    return stored.kind == JobKind.EXPORT.value and stored.column == "output_file"


def purge_files(
    ctx: Context, store_id: int, traces: Traces, *, job_id: str, user_id: int | None
) -> int:
    """Remove the traced people from every stored file of the store's finished jobs, except
    the running delete job's own upload, and from the uploads left on the mapping screen;
    returns how many files (or folders) were changed.

    Exports and backups are written again without their rows; any other file holding one of
    them is deleted, as is a file that cannot be read (it might hold them). What else a finished
    job left in its folder (chunks, parts, copies) is deleted unread. Each action is in the
    audit log with ids and counts only. Running it again changes nothing more.
    """
    # A killed process's passing copy of a stored file may be a whole upload.
    ctx.files.forget_dead_copies()
    with ctx.engine.connect() as conn:
        stored = purge_rows_sql.stored_files(conn, store_id, except_job=job_id)
    limits = ctx.settings.read_limits()
    changed = 0
    by_job: dict[str, list[purge_rows_sql.StoredFile]] = {}
    for item in stored:
        by_job.setdefault(item.job_id, []).append(item)
    for files in by_job.values():
        changed += _purge_job_files(ctx, store_id, files, traces, limits, (job_id, user_id))
    changed += _remove_leftovers(ctx, store_id, (job_id, user_id))
    changed += _purge_previews(ctx, store_id, traces, limits, (job_id, user_id))
    if changed:
        log.info("purge: changed %d stored files", changed)
    return changed


def _purge_job_files(
    ctx: Context,
    store_id: int,
    files: list[purge_rows_sql.StoredFile],
    traces: Traces,
    limits: ReadLimits,
    by: tuple[str, int | None],
) -> int:
    """Purge one job's files; when the last of them goes, the job shows its files as deleted."""
    left = len(files)
    changed = 0
    for stored in files:
        action = _purge_file(ctx, stored, traces, limits)
        if action is None:
            continue
        gone = action["action"] != "rewritten"
        left -= gone
        with ctx.engine.begin() as conn:
            if gone:
                purge_rows_sql.forget_file(
                    conn, store_id, stored.job_id, stored.column, now() if left == 0 else None
                )
            if action["action"] != "missing":
                audit.record(
                    conn,
                    store_id=store_id,
                    user_id=by[1],
                    action="file.purge",
                    job_id=by[0],
                    detail={"purged_job_id": stored.job_id, "file": stored.column, **action},
                )
                changed += 1
    return changed


def _folders(ctx: Context, prefix: str) -> dict[str, list[str]]:
    """The keys stored under each folder right under ``prefix``, as the store lists them: the
    job rows do not know every file their job wrote."""
    found: dict[str, list[str]] = {}
    for key in ctx.files.keys_under(prefix):
        found.setdefault(key.split("/")[1], []).append(key)
    return found


def _remove_leftovers(ctx: Context, store_id: int, by: tuple[str, int | None]) -> int:
    """Delete, unread, every file in the folders of the store's finished jobs that the job's
    row no longer names (all of them once its files are marked deleted): chunks, parts, passing
    copies, a write a crash cut short. Nothing reads them once the job has ended. A job left
    with no file loses its folder whole and shows its files as deleted."""
    folders = _folders(ctx, "jobs")
    folders.pop(by[0], None)
    with ctx.engine.connect() as conn:
        ended = purge_rows_sql.ended_jobs(conn, store_id, folders.keys())
    changed = 0
    for job in ended:
        keys = folders[job.id]
        left = keys if job.expired else [k for k in keys if k not in job.named]
        if not left:
            continue
        whole = len(left) == len(keys)
        if whole:
            ctx.files.delete_tree(f"jobs/{job.id}")
        for key in [] if whole else left:
            ctx.files.delete(key)
        with ctx.engine.begin() as conn:
            if whole:
                purge_rows_sql.mark_files_gone(conn, store_id, job.id, now())
            audit.record(
                conn, store_id=store_id, user_id=by[1], action="file.purge", job_id=by[0],
                detail={"purged_job_id": job.id, "file": "leftovers", "action": "deleted",
                        "files": len(left)},
            )  # fmt: skip
        changed += 1
    return changed


def _purge_previews(
    ctx: Context, store_id: int, traces: Traces, limits: ReadLimits, by: tuple[str, int | None]
) -> int:
    """Delete the uploads left on the mapping screen that hold one of them (or cannot be read,
    or whose file name names them): the store's own, and those whose store is not written down
    yet (a request under way, or one a crash cut short). Other stores' are not read."""
    changed = 0
    for name, keys in _folders(ctx, "previews").items():
        folder = f"previews/{name}"
        staged = _staged(ctx, f"{folder}/staged.json") if f"{folder}/staged.json" in keys else {}
        if staged.get("store_id", store_id) != store_id:
            continue
        found = _preview_matches(ctx, f"{folder}/upload", keys, traces, limits)
        options = staged.get("options") or {}
        if found == 0 and _cleaned(options, RowMatcher(traces)) != options:
            found = None  # the file's name names them
        if found == 0:
            continue
        ctx.files.delete_tree(folder)
        with ctx.engine.begin() as conn:
            audit.record(
                conn, store_id=store_id, user_id=by[1], action="file.purge", job_id=by[0],
                detail={"preview": name, "action": "deleted", "rows_removed": found},
            )  # fmt: skip
        changed += 1
    return changed


def _staged(ctx: Context, key: str) -> dict[str, Any]:
    """What the mapping screen noted of an upload: its store and options (``{}`` if unreadable)."""
    try:
        with ctx.files.open(key) as handle:
            found = json.loads(handle.read())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _preview_matches(
    ctx: Context, key: str, keys: list[str], traces: Traces, limits: ReadLimits
) -> int | None:
    """How many rows of a preview's upload are theirs: 0 without an upload (still arriving),
    None when it cannot be read (it might hold them)."""
    if key not in keys:
        return 0
    try:
        with ctx.files.local(key) as path:
            return len(_matching_rows(path, traces, limits, zipped=False))
    except FileNotFoundError:
        return 0  # started or swept meanwhile
    except (JobProblem, OSError, UnicodeError, ValueError, zipfile.BadZipFile, csv.Error):
        return None


def _purge_file(
    ctx: Context, stored: purge_rows_sql.StoredFile, traces: Traces, limits: ReadLimits
) -> dict[str, Any] | None:
    """What was done to one file: None when it holds none of them."""
    if not ctx.files.exists(stored.key):
        # Deleted by a purge that stopped before noting it: only the note is left to make.
        return {"action": "missing"}
    if _rewritable(stored):
        # bulkport wrote it: an export of a large store may hold more than an upload may.
        limits = replace(limits, max_rows=_NO_LIMIT, max_unzipped_bytes=_NO_LIMIT,
                         max_entry_bytes=_NO_LIMIT)  # fmt: skip
    try:
        zipped = stored.kind == JobKind.PRIVACY_EXPORT.value
        with ctx.files.local(stored.key) as path:
            rows = _matching_rows(path, traces, limits, zipped=zipped)
    except (JobProblem, OSError, UnicodeError, ValueError, zipfile.BadZipFile, csv.Error):
        ctx.files.delete(stored.key)
        return {"action": "deleted", "unreadable": True, "rows_removed": None}
    if not rows:
        return None
    if _rewritable(stored):
        _rewrite_without(ctx, stored.key, traces, limits)
        return {"action": "rewritten", "rows_removed": len(rows)}
    if stored.column == "input_file":
        # Every error of a row of theirs goes, whatever its cell held (a misspelt date, another
        # email), before the upload that tells which rows were theirs.
        with ctx.engine.begin() as conn:
            purge_rows_sql.erase_rows_of(conn, [(stored.job_id, row) for row in rows])
    ctx.files.delete(stored.key)
    return {"action": "deleted", "rows_removed": len(rows)}


# --- Rows in the database ----------------------------------------------------------------


def purge_rows(conn: Connection, store_id: int, traces: Traces) -> None:
    """Inside the caller's transaction: erase the traced people from the store's row errors,
    job options and error texts, and audit details.

    A row error whose value is one of their identifiers loses the value and message of every
    error of its row (the row was theirs); one whose value merely equals one of their values
    (a city, a first name) loses its own value and message only.
    """
    matcher = RowMatcher(traces)
    whole_rows: set[tuple[str, int]] = set()
    single: list[int] = []
    for stored in purge_rows_sql.row_errors_of_store(conn, store_id):
        value = _key(stored.value) if stored.value is not None else ""
        if matcher.holds_identifier([value, _key(stored.message)]):
            whole_rows.add((stored.job_id, stored.row))
        elif value in traces.values:
            single.append(stored.id)
    purge_rows_sql.erase_rows_of(conn, whole_rows)
    purge_rows_sql.erase_row_errors(conn, single)
    for details in purge_rows_sql.job_details(conn, store_id):
        options = _cleaned(details.options, matcher)
        error = details.error
        if error is not None and _mentions(error, matcher, free=True):
            error = REMOVED
        headers = _cleaned(details.headers, matcher, free=True, headers=True)
        if (options, error, headers) != (details.options, details.error, details.headers):
            purge_rows_sql.replace_job_details(
                conn, purge_rows_sql.JobDetails(details.id, options, error, headers)
            )
    _purge_saved_mappings(conn, store_id, matcher)
    purge_rows_sql.clean_audit_details(conn, store_id, lambda detail: _cleaned(detail, matcher))


def _purge_saved_mappings(conn: Connection, store_id: int, matcher: RowMatcher) -> None:
    """A saved mapping named after one of them goes; one that maps a header naming them (saved
    from a file with no header row) keeps its other headers."""
    for mapping_id, name, columns in purge_rows_sql.saved_mappings_of(conn, store_id):
        if _mentions(name, matcher, free=True):
            purge_rows_sql.delete_saved_mapping(conn, mapping_id)
        elif (cleaned := _cleaned(columns, matcher, free=True, headers=True)) != columns:
            purge_rows_sql.replace_saved_mapping(conn, mapping_id, cleaned)


def remember_for_purge(conn: Connection, store_id: int, job_id: str, traces: Traces) -> None:
    """Inside the transaction that erases the traced people: keep their traces for
    ``purge_pending``, so a job that stops before that purge has them purged when it resumes
    or ends (and a job of a million rows purges once, not once a batch)."""
    purge_rows_sql.remember_traces(
        conn,
        store_id,
        job_id,
        {
            "customer_ids": sorted(traces.customer_ids),
            "values": sorted(traces.values),
            "identifiers": sorted(traces.identifiers),
            "names": sorted(traces.names),
        },
    )


def purge_pending(ctx: Context, store_id: int, per_pass: int = BATCHES_PER_PASS) -> int:
    """Purge the row errors, job details and audit details of every person of the store
    erased since the last purge; returns how many batches' traces it consumed.

    Each pass takes the traces of ``per_pass`` batches and purges them in one transaction
    that also forgets those traces, so memory stays bounded and a stop between passes loses
    nothing.
    """
    consumed = 0
    while True:
        with ctx.engine.begin() as conn:
            taken = purge_rows_sql.take_traces(conn, store_id, per_pass)
            if not taken:
                return consumed
            purge_rows(
                conn,
                store_id,
                Traces(
                    customer_ids=frozenset(i for t in taken for i in t["customer_ids"]),
                    values=frozenset(v for t in taken for v in t["values"]),
                    identifiers=frozenset(v for t in taken for v in t["identifiers"]),
                    names=frozenset((first, last) for t in taken for first, last in t["names"]),
                ),
            )
        consumed += len(taken)


def _mentions(text: str, matcher: RowMatcher, *, free: bool) -> bool:
    """Whether a text names one of them: by an identifier or a full name, and, in a text a
    person typed (``free``: a file name, a search), by any of their values, such as a surname.

    Other texts are options ("private", "csv", "exclude") that may equal someone's value by
    chance; they are never replaced, so a job's options stay valid.
    """
    key = _key(text)
    words = {word for pattern in _WORDS for word in pattern.findall(key)}
    if matcher.holds_identifier([key, *words]) or matcher.holds_name(words):
        return True
    values = matcher.traces.values
    return free and (key in values or not values.isdisjoint(words))


def _cleaned(data: Any, matcher: RowMatcher, *, free: bool = False, headers: bool = False) -> Any:
    """JSON with every text that names one of them replaced by "Removed". With ``headers``, the
    data quotes a file's header row, which in a file with no header row is a person's values:
    every text in it, keys too, is taken as typed (``free``)."""
    if isinstance(data, dict):
        cleaned: dict[str, Any] = {}
        for k, v in data.items():
            key = _removed_key(cleaned) if _mentions(k, matcher, free=headers) else k
            below = headers or k == "mapping"  # a job's options keep the mapping it was given
            cleaned[key] = _cleaned(v, matcher, free=below or k in FREE_TEXT_KEYS, headers=below)
        return cleaned
    if isinstance(data, list):
        return [_cleaned(v, matcher, free=free, headers=headers) for v in data]
    if isinstance(data, str) and _mentions(data, matcher, free=free):
        return REMOVED
    return data


def _removed_key(taken: dict[str, Any]) -> str:
    """ "Removed", or "Removed 2", … when a dict already has that key: keys stay distinct."""
    n = 1
    while (key := REMOVED if n == 1 else f"{REMOVED} {n}") in taken:
        n += 1
    return key


def after_deletion(ctx: Context) -> None:
    """Database-file hygiene once a delete job ends: no erased value stays in SQLite's free
    pages or WAL, nor in PostgreSQL's dead row versions (see docs/privacy.md for the limits)."""
    purge_rows_sql.forget_database_leftovers(ctx.engine)
