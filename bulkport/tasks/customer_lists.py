"""The bulk job over a spreadsheet of customers: archive, un-archive, merge and delete share it.

The file names customers by Customer Record ID or email (merge: by pairs of ids). Every row is
read and checked first; then, batch by batch and each batch in ONE transaction, the rows are
resolved to the store's customers (locked), the kind's apply function changes them, and the
row errors, counters and checkpoint are written with the change, so a resumed job never applies
a row twice. A dry run resolves and counts the same way and changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from pydantic_core import PydanticCustomError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from bulkport.errors import DryRunGone, JobProblem, NotCommittable, QueueUnreachable
from bulkport.rules.customer import parse_email, parse_record_id
from bulkport.rules.fields import HEADER_INDEX, fold_header
from bulkport.schemas.jobs import JobKind, JobStatus, RowErrorView, RowOutcome
from bulkport.schemas.lifecycle import ListOptions
from bulkport.spreadsheets.sources import ReadOptions, open_sheet
from bulkport.storage import audit, job_rows
from bulkport.storage import customer_records as records
from bulkport.storage.customer_writes import email_key
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import claim_job, send_or_fail, settled
from bulkport.tasks.notifications import check_notify_url
from bulkport.tasks.reports import OUTCOME_COLUMNS, outcomes_key

UNEXPECTED = (
    "The job stopped on an unexpected error. Rows counted as processed were changed; "
    "upload the file again to finish, or contact your administrator."
)
NO_COLUMN = (
    "The file has no column of Customer Record IDs or emails. Add a column headed "
    "'Customer Record ID' or 'Email' with one customer per row, and upload it again."
)
NO_PAIRS = (
    "The file needs two columns, 'Primary ID' and 'Secondary ID': on each row, the Customer "
    "Record ID of the customer to keep and of the duplicate to merge into it."
)
NO_ROWS = "The file has a header row but no customers below it."
_PRIMARY = frozenset({"primaryid", "primary", "primarycustomerrecordid", "keep"})
_SECONDARY = frozenset({"secondaryid", "secondary", "secondarycustomerrecordid", "duplicate"})

Refusal = tuple[str, str]
Verdict = RowOutcome | Refusal
# A row's verdict (None: blank, skipped) and the customer id it resolved to.
_Seen = tuple[Verdict | None, int | None]
UNKNOWN: Refusal = ("unknown_customer", "No customer of this store has this Customer Record ID.")


@dataclass(frozen=True)
class Entry:
    """One data row of the file, read and checked before any batch runs."""

    index: int
    row: int
    customer_id: int | None = None
    email: str | None = None
    other_id: int | None = None
    problem: Refusal | None = None
    column: str | None = None


@dataclass(frozen=True)
class Target:
    """A row resolved to the store's customer (and, to merge, its secondary)."""

    entry: Entry
    customer_id: int
    other_id: int | None = None


@dataclass(frozen=True)
class Change:
    """Who makes a change, from which job, and whether only to preview it."""

    store_id: int
    user_id: int | None
    job_id: str | None = None
    dry_run: bool = False
    # Where an erasure is logged (``storage/erasure_log.py``); None: not logged again.
    erasure_log: Path | None = None


class Apply(Protocol):
    """A kind's rule: the verdict for each target, changing the customers unless a dry run;
    ``found`` holds every customer the targets name, locked, as they stand."""

    def __call__(
        self,
        conn: Connection,
        change: Change,
        targets: Sequence[Target],
        found: dict[int, dict[str, Any]],
    ) -> list[Verdict]: ...


@dataclass(frozen=True)
class ListKind:
    """What differs between the kinds that run over a spreadsheet of customers."""

    kind: JobKind
    verb: str
    apply: Apply
    pairs: bool = False
    # Runs once all rows are resolved, before the first batch (again on a resumed job).
    before: Callable[[Context, job_rows.Job, list[int]], None] | None = None
    # Runs once the job is READY.
    after: Callable[[Context, job_rows.Job], None] | None = None
    # Runs once the batches are done, before the job is READY (a run killed before it ends
    # leaves the job to be resumed, which runs it); and once a run that stopped otherwise
    # ends (FAILED, cancelled, claim lost), except when the database went away: the retry
    # that follows runs it then.
    ended: Callable[[Context, job_rows.Job], None] | None = None
    # The customer columns ``apply`` reads (None: all of them).
    columns: tuple[str, ...] | None = None


def preview_key(job_id: str) -> str:
    """Where the commit of a dry run keeps the dry run's report."""
    return f"jobs/{job_id}/preview.csv"


def list_key(job_id: str) -> str:
    """Where a lifecycle job's uploaded file is stored."""
    return f"jobs/{job_id}/upload"


def submit_list(
    ctx: Context,
    spec: ListKind,
    *,
    store_id: int,
    user_id: int | None,
    job_id: str,
    options: ListOptions,
    idempotency_key: str | None = None,
) -> None:
    """Create a lifecycle job for its stored upload, audited, in one transaction; then send it.
    Raises ``QueueUnreachable`` (the job then FAILED) when the queue cannot be reached.

    A commit of a dry run keeps its own copy of the dry run's report (ids only): a delete
    purges the dry run's files, which name the same customers."""
    check_notify_url(ctx, store_id, options.notify_url)
    if options.preview_of is not None:
        shown = outcomes_key(options.preview_of)
        if not ctx.files.exists(shown):
            raise JobProblem("The dry run's report is no longer stored; run it again.")
        with ctx.files.open(shown) as source, ctx.files.writer(preview_key(job_id)) as out:
            out.write(source.read())
    with ctx.engine.begin() as conn:
        job_rows.create_job(
            conn,
            store_id=store_id,
            kind=spec.kind,
            options=options.model_dump(mode="json", exclude_none=True),
            created_by=user_id,
            idempotency_key=idempotency_key,
            job_id=job_id,
        )
        job_rows.set_input_file(conn, job_id, list_key(job_id))
        audit.record(
            conn,
            store_id=store_id,
            user_id=user_id,
            action=f"{spec.kind.value}.upload",
            job_id=job_id,
            detail={"bytes": ctx.files.size(list_key(job_id)), "dry_run": options.dry_run},
        )
    send_or_fail(ctx, spec.kind, job_id)


def commit_key(dry_job_id: str) -> str:
    """The idempotency key of the job that runs a dry run for real: one per dry run."""
    return f"commit-of-{dry_job_id}"


def committed_job(ctx: Context, store_id: int, dry_job_id: str) -> job_rows.Job | None:
    """The job that already ran this dry run for real, if any."""
    with ctx.engine.connect() as conn:
        return job_rows.find_by_idempotency_key(conn, store_id, commit_key(dry_job_id))


def commit_list(
    ctx: Context, spec: ListKind, *, store_id: int, user_id: int | None, dry_job_id: str
) -> str:
    """Run a READY dry run of ``spec``'s kind for real, changing exactly the customers it
    showed; returns the new job's id (the same one for a dry run already committed).

    Raises ``NotCommittable``, ``DryRunGone``, and what ``submit_list`` raises."""
    with ctx.engine.connect() as conn:
        dry = job_rows.get_job(conn, store_id, dry_job_id)
    if dry is None or dry.kind is not spec.kind or not dry.options.get("dry_run"):
        raise NotCommittable("Only a dry run can be committed.")
    if dry.status is not JobStatus.READY:
        raise NotCommittable(f"The dry run is {dry.status}.")
    earlier = committed_job(ctx, store_id, dry.id)
    if earlier is not None:
        return earlier.id
    if dry.input_file is None or not ctx.files.exists(dry.input_file):
        raise DryRunGone("The dry run's file is no longer stored.")
    new_id = job_rows.new_job_id()
    with ctx.files.open(dry.input_file) as source, ctx.files.writer(list_key(new_id)) as out:
        while chunk := source.read(1024 * 1024):
            out.write(chunk)
    options = ListOptions.model_validate({**dry.options, "dry_run": False, "preview_of": dry.id})
    try:
        submit_list(
            ctx, spec, store_id=store_id, user_id=user_id, job_id=new_id, options=options,
            idempotency_key=commit_key(dry.id),
        )  # fmt: skip
    except IntegrityError:
        # Another request committed the same dry run first: that job is the answer.
        ctx.files.delete_tree(f"jobs/{new_id}")
        won = committed_job(ctx, store_id, dry.id)
        if won is None:
            raise
        return won.id
    except QueueUnreachable:
        raise  # the job exists, FAILED with the reason
    except JobProblem:
        ctx.files.delete_tree(f"jobs/{new_id}")
        raise
    return new_id


def run_list(
    ctx: Context, job_id: str, spec: ListKind
) -> job_rows.Claimed | job_rows.Busy | job_rows.Finished:
    """Run (or resume) a lifecycle job of ``spec``'s kind; returns how the claim went."""
    claim = claim_job(ctx, job_id)
    if not isinstance(claim, job_rows.Claimed):
        return claim
    job, token = claim.job, claim.token
    with settled(ctx, job_id, token, UNEXPECTED):
        options = ListOptions.model_validate(job.options)
        entries = read_entries(ctx, job, spec.pairs)
        with ctx.engine.begin() as conn:
            job_rows.record_plan(
                conn, job_id, token, total=len(entries), mapping={}, ignored_columns=(),
                source={"rows": len(entries)},
            )  # fmt: skip
        if spec.before is not None and not options.dry_run:
            spec.before(ctx, job, _named_ids(ctx, job.store_id, entries))
        run = _Run(ctx, job, token, spec, options, _previewed(ctx, job, options))
        run.all(entries)
        if spec.ended is not None:
            spec.ended(ctx, job)
        with ctx.engine.begin() as conn:
            job_rows.finish(conn, job_id, token, JobStatus.READY, report_file=outcomes_key(job_id))
            done = job_rows.job_for_worker(conn, job_id)
            audit.record(
                conn, store_id=job.store_id, user_id=job.created_by, action=f"{spec.kind}.ready",
                job_id=job_id, detail=done.counts.model_dump() if done else {},
            )  # fmt: skip
        # The parts stay until the job is READY: a run stopped after the report was assembled
        # resumes from them.
        ctx.files.delete_tree(_parts_folder(job_id))
        if spec.after is not None:
            spec.after(ctx, job)
        return claim
    if spec.ended is not None:
        spec.ended(ctx, job)
    return claim


def _parts_folder(job_id: str) -> str:
    return f"jobs/{job_id}/outcome-parts"


def _part_key(job_id: str, start: int) -> str:
    """Where the outcome lines of the batch that starts at row ``start`` wait for the report."""
    return f"{_parts_folder(job_id)}/{start:010d}.csv"


def read_entries(ctx: Context, job: job_rows.Job, pairs: bool) -> list[Entry]:
    """Every data row of the job's upload, checked: ids parsed, emails folded, repeats and
    (for pairs) self-merges and chains found."""
    if job.input_file is None or not ctx.files.exists(job.input_file):
        raise JobProblem("The uploaded file is no longer stored; upload it again.")
    with ctx.files.local(job.input_file) as path:
        entries = _read_pairs(ctx, path) if pairs else _read_keys(ctx, path)
    if not entries:
        raise JobProblem(NO_ROWS)
    return _pair_rules(entries) if pairs else _repeats(entries)


def names_pairs(header: Sequence[str]) -> bool:
    """Whether a header row has the Primary ID and Secondary ID columns of a merge list."""
    folded = {fold_header(h) for h in header}
    return bool(folded & _PRIMARY) and bool(folded & _SECONDARY)


def _key_of(header: str) -> str | None:
    key = HEADER_INDEX.get(fold_header(header))
    return key if key in ("id", "email") else None


def _read_keys(ctx: Context, path: Path) -> list[Entry]:
    def score(cells: list[str]) -> int:
        return sum(1 for c in cells if _key_of(c))

    with open_sheet(path, score, ReadOptions(), ctx.settings.read_limits()) as sheet:
        keys = {i: _key_of(h) for i, h in enumerate(sheet.header)}
        id_at = next((i for i, k in keys.items() if k == "id"), None)
        email_at = next((i for i, k in keys.items() if k == "email"), None)
        if id_at is None and email_at is None:
            raise JobProblem(NO_COLUMN)
        return [
            _key_entry(n, number, cells, id_at, email_at, sheet.header)
            for n, (number, cells) in enumerate(sheet.rows)
        ]


def _cell(cells: list[str], at: int | None) -> str:
    return cells[at].strip() if at is not None and at < len(cells) else ""


def _key_entry(
    index: int, row: int, cells: list[str], id_at: int | None, email_at: int | None,
    header: list[str],
) -> Entry:  # fmt: skip
    id_cell, email_cell = _cell(cells, id_at), _cell(cells, email_at)
    if id_cell and id_at is not None:
        customer_id, problem = _record_id(id_cell)
        return Entry(index, row, customer_id=customer_id, problem=problem, column=header[id_at])
    if email_cell and email_at is not None:
        try:
            email = email_key(parse_email(email_cell))
        except PydanticCustomError:
            problem = ("invalid_email", "This is not an email address.")
            return Entry(index, row, problem=problem, column=header[email_at])
        return Entry(index, row, email=email, column=header[email_at])
    return Entry(index, row)  # a blank row: skipped


def _record_id(cell: str) -> tuple[int | None, Refusal | None]:
    try:
        return parse_record_id(cell), None
    except PydanticCustomError:
        return None, ("invalid_id", "This is not a Customer Record ID (a whole number).")


def _read_pairs(ctx: Context, path: Path) -> list[Entry]:
    def score(cells: list[str]) -> int:
        return sum(1 for c in cells if fold_header(c) in _PRIMARY | _SECONDARY)

    with open_sheet(path, score, ReadOptions(), ctx.settings.read_limits()) as sheet:
        folded = [fold_header(h) for h in sheet.header]
        # The same headers as names_pairs, in their columns.
        first = next((i for i, h in enumerate(folded) if h in _PRIMARY), None)
        second = next((i for i, h in enumerate(folded) if h in _SECONDARY), None)
        if first is None or second is None:
            raise JobProblem(NO_PAIRS)
        entries = []
        for n, (number, cells) in enumerate(sheet.rows):
            one, other = _cell(cells, first), _cell(cells, second)
            if not one and not other:
                entries.append(Entry(n, number))
                continue
            primary, problem = _record_id(one) if one else (None, None)
            secondary, problem_2 = _record_id(other) if other else (None, None)
            problem = problem or problem_2
            if problem is None and (primary is None or secondary is None):
                problem = ("missing_id", "Each row needs a Primary ID and a Secondary ID.")
            entries.append(Entry(n, number, primary, None, secondary, problem))
        return entries


def _repeats(entries: list[Entry]) -> list[Entry]:
    first: dict[object, int] = {}
    out = []
    for e in entries:
        key = e.customer_id if e.customer_id is not None else e.email
        if key is not None and e.problem is None:
            if key in first:
                e = _refused(e, "repeated_row", f"This customer is already on row {first[key]}.")
            else:
                first[key] = e.row
        out.append(e)
    return out


def _pair_rules(entries: list[Entry]) -> list[Entry]:
    seen: dict[tuple[int, int], int] = {}
    uses: Counter[int] = Counter()
    distinct: list[tuple[int, int]] = []
    for e in entries:
        if (
            e.problem is None
            and e.customer_id is not None
            and e.other_id not in (None, e.customer_id)
        ):
            pair = (e.customer_id, e.other_id or 0)
            if pair not in seen:
                seen[pair] = e.row
                distinct.append(pair)
    for primary, secondary in distinct:
        uses[primary] += 1
        uses[secondary] += 1
    out = []
    for e in entries:
        out.append(_pair_rule(e, seen, uses))
    return out


def _pair_rule(e: Entry, seen: dict[tuple[int, int], int], uses: Counter[int]) -> Entry:
    if e.problem is not None or e.customer_id is None or e.other_id is None:
        return e
    if e.customer_id == e.other_id:
        return _refused(e, "self_merge", "A customer cannot be merged into itself.")
    first = seen[(e.customer_id, e.other_id)]
    if first != e.row:
        return _refused(e, "repeated_row", f"This pair is already on row {first}.")
    if uses[e.other_id] > 1:
        return _refused(
            e,
            "chained_merge",
            "The secondary is also in another pair of this file; merge one pair per customer "
            "in a file, then upload the next merge.",
        )
    return e


def _refused(e: Entry, code: str, message: str) -> Entry:
    return Entry(e.index, e.row, e.customer_id, e.email, e.other_id, (code, message), e.column)


def _named_ids(ctx: Context, store_id: int, entries: list[Entry]) -> list[int]:
    """The ids of the store's customers, not deleted, that the rows name (for ``before``)."""
    ids = {e.customer_id for e in entries if e.problem is None and e.customer_id is not None}
    emails = [e.email for e in entries if e.problem is None and e.email is not None]
    with ctx.engine.connect() as conn:
        ids.update(records.ids_by_email(conn, store_id, emails).values())
        return records.live_ids(conn, store_id, ids)


def _previewed(
    ctx: Context, job: job_rows.Job, options: ListOptions
) -> set[tuple[int, int]] | None:
    """(row, customer id) of each change the dry run this job commits showed."""
    if options.preview_of is None:
        return None
    key = preview_key(job.id)
    if not ctx.files.exists(key):
        raise JobProblem("The dry run's report is no longer stored; run the dry run again.")
    with ctx.files.open(key) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return {(int(r[0]), int(r[1])) for r in reader if r[1] and r[3].startswith("would")}


def _csv_lines(rows: Sequence[Sequence[object]]) -> str:
    """Rows as CSV text, as ``csv.writer`` writes them to a file."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    return text.getvalue()


class _Run:
    """The batches of one claimed job, from its checkpoint on."""

    def __init__(
        self,
        ctx: Context,
        job: job_rows.Job,
        token: str,
        spec: ListKind,
        options: ListOptions,
        previewed: set[tuple[int, int]] | None,
    ) -> None:
        self.ctx, self.job, self.token, self.spec = ctx, job, token, spec
        self.change = Change(
            job.store_id, job.created_by, job.id, options.dry_run, ctx.settings.erasure_log
        )
        self.previewed = previewed
        # Customer id → the first row that named it (by id or by email), across batches.
        self.named: dict[int, int] = {}

    def all(self, entries: list[Entry]) -> None:
        checkpoint = self.job.checkpoint
        self._resume(checkpoint)
        size = self.ctx.settings.batch_size
        rest = iter(entries[checkpoint:])
        while batch := list(islice(rest, size)):
            self._batch(batch, checkpoint)
            checkpoint += len(batch)
        self._assemble(checkpoint)

    def _parts(self, rows: int) -> Iterator[list[list[str]]]:
        """The outcome lines of the first ``rows`` rows, a batch's part at a time.

        Each batch stores its lines as a part of their own (a store object cannot be appended
        to, and rewriting one growing log would cost the square of the list's length); a part
        is named by its first row, so the parts of committed batches follow one another and a
        part left by a batch that never committed is overwritten or never reached."""
        start = 0
        while start < rows:
            key = _part_key(self.job.id, start)
            if not self.ctx.files.exists(key):
                raise JobProblem("The job's report is no longer stored; run the job again.")
            with (
                self.ctx.files.open(key) as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle,
            ):
                lines = list(csv.reader(handle))
            yield lines
            start += len(lines)

    def _resume(self, checkpoint: int) -> None:
        """A resumed job still knows which customer each committed row named."""
        for lines in self._parts(checkpoint):
            for line in lines:
                if line[1] and line[3] != "skipped":
                    self.named.setdefault(int(line[1]), int(line[0]))

    def _assemble(self, rows: int) -> None:
        """The one report: the header, then every batch's part in row order."""
        with self.ctx.files.writer(outcomes_key(self.job.id)) as out:
            out.write(_csv_lines([OUTCOME_COLUMNS]).encode("utf-8"))
            for lines in self._parts(rows):
                out.write(_csv_lines(lines).encode("utf-8"))

    def _batch(self, batch: list[Entry], checkpoint: int) -> None:
        with self.ctx.engine.begin() as conn:
            verdicts = self._verdicts(conn, batch)
            errors, counts, lines = self._tally(batch, verdicts)
            job_rows.add_row_errors(conn, self.job.id, errors)
            with self.ctx.files.writer(_part_key(self.job.id, checkpoint)) as out:
                out.write(_csv_lines(lines).encode("utf-8"))
            job_rows.advance(
                conn, self.job.id, self.token, expected_checkpoint=checkpoint,
                rows=len(batch), counts=counts, lease_seconds=self.ctx.settings.job_lease_seconds,
            )  # fmt: skip

    def _verdicts(self, conn: Connection, batch: list[Entry]) -> dict[int, _Seen]:
        """Each row's verdict (None: a blank row, skipped) and the customer it names."""
        emails = [e.email for e in batch if e.problem is None and e.email is not None]
        by_email = records.ids_by_email(conn, self.job.store_id, emails)
        seen: dict[int, _Seen] = {}
        targets: list[Target] = []
        for e in batch:
            refusal, target = self._resolve(e, by_email)
            if target is None:
                seen[e.index] = (refusal, e.customer_id)
            else:
                targets.append(target)
        ids = {t.customer_id for t in targets} | {t.other_id for t in targets if t.other_id}
        found = records.locked(conn, self.job.store_id, ids, self.spec.columns)
        known = []
        for t in targets:
            if t.customer_id not in found or (t.other_id is not None and t.other_id not in found):
                seen[t.entry.index] = (UNKNOWN, t.customer_id)
            elif (first := self._first_row(t)) != t.entry.row:
                why = f"This customer is already on row {first} (by id or by email)."
                seen[t.entry.index] = (("repeated_row", why), t.customer_id)
            else:
                known.append(t)
        for t, verdict in zip(known, self.spec.apply(conn, self.change, known, found), strict=True):
            seen[t.entry.index] = (verdict, t.customer_id)
        return seen

    def _first_row(self, t: Target) -> int:
        """The first row of the file that named this customer (a merge's primary may stand in
        several pairs: each pair is its own row)."""
        if self.spec.pairs:
            return t.entry.row
        return self.named.setdefault(t.customer_id, t.entry.row)

    def _resolve(self, e: Entry, by_email: dict[str, int]) -> tuple[Refusal | None, Target | None]:
        if e.problem is not None:
            return e.problem, None
        customer_id = e.customer_id if e.customer_id is not None else by_email.get(e.email or "")
        if e.email is not None and customer_id is None:
            return ("unknown_email", "No customer of this store has this email."), None
        if customer_id is None:
            return None, None
        if self.previewed is not None and (e.row, customer_id) not in self.previewed:
            why = "This row did not show this customer in the dry run; nothing was changed."
            return ("not_previewed", why), None
        return None, Target(e, customer_id, e.other_id)

    def _tally(
        self, batch: list[Entry], seen: dict[int, _Seen]
    ) -> tuple[list[RowErrorView], dict[str, int], list[list[str]]]:
        """The batch's row errors, counters and outcome lines (ids and plain words only)."""
        errors: list[RowErrorView] = []
        counts: Counter[str] = Counter(processed=len(batch))
        lines = []
        for e in batch:
            verdict, customer_id = seen[e.index]
            shown = "" if customer_id is None else str(customer_id)
            other = "" if e.other_id is None else str(e.other_id)
            if verdict is None:
                counts["skipped"] += 1
                lines.append([str(e.row), shown, other, "skipped", ""])
            elif isinstance(verdict, tuple):
                code, message = verdict
                counts["failed"] += 1
                # The cell is kept only when it is an id: an email is personal data.
                value = None if e.customer_id is None else str(e.customer_id)
                errors.append(RowErrorView(row=e.row, column=e.column, field=None, code=code,
                                           message=message, value=value))  # fmt: skip
                lines.append([str(e.row), shown, other, "failed", message])
            else:
                counts["succeeded"] += 1
                counts[verdict.value] += 1
                lines.append([str(e.row), shown, other, self._word(verdict), ""])
        return errors, dict(counts), lines

    def _word(self, verdict: RowOutcome) -> str:
        if verdict is not RowOutcome.UPDATED:
            return f"already {self.spec.verb}"
        return f"would be {self.spec.verb}" if self.change.dry_run else self.spec.verb
