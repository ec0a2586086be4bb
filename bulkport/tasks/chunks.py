"""A large import split across workers: its rows cut into chunks, each chunk run by any
worker, and the one final step that writes the report and ends the job.

The first pass (``split_rows``, on the worker that surveyed the file) writes the rows, as read,
into chunk files in the file store and notes, for each chunk, the keys (record id, email) that
a row of an earlier chunk used first: each chunk's planner starts knowing them, so a repeat
across a chunk boundary fails on the later row naming the first, as in one pass. The mapping
(from the header and the job's options) and the date order (on the job's source) are those the
survey decided, so all chunks agree. Chunks then run in parallel (``run_chunk``), each with
its own claim, lease and checkpoint, adding their counters to the job's as they commit. The
worker that completes the last chunk ends the job (``finish_split``): a conditional UPDATE lets
only one worker do it, and the reaper runs it again if that worker died.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

from bulkport.errors import JobProblem
from bulkport.rules.dates import DateOrder
from bulkport.schemas.jobs import ImportOptions, JobStatus
from bulkport.spreadsheets.mapping import guess_mapping
from bulkport.spreadsheets.sniff import FileFormat
from bulkport.spreadsheets.sources import SheetInfo
from bulkport.spreadsheets.spill import read_blocks, write_block
from bulkport.storage import chunks as chunk_rows
from bulkport.storage import job_rows
from bulkport.storage.db import reading
from bulkport.tasks.batches import BatchPlanner
from bulkport.tasks.context import Context
from bulkport.tasks.job_lifecycle import gave_up_message, settled
from bulkport.tasks.pipeline import BatchRun, batches, write_batches
from bulkport.tasks.reports import write_report
from bulkport.tasks.seen_keys import SeenKeys
from bulkport.tasks.survey import SPILL_CHUNK, override_of

log = logging.getLogger(__name__)
UNEXPECTED = (
    "The job stopped on an unexpected error. Rows counted as processed were saved; "
    "upload the file again to finish, or contact your administrator."
)
Row = tuple[int, list[str]]
ChunkResult = chunk_rows.ChunkClaimed | job_rows.Busy | job_rows.Finished


def chunks_prefix(job_id: str) -> str:
    """The folder of a split job's chunk files."""
    return f"jobs/{job_id}/chunks"


def rows_key(job_id: str, number: int) -> str:
    """A chunk's rows as read from the upload."""
    return f"{chunks_prefix(job_id)}/{number}/rows"


def repeats_key(job_id: str, number: int) -> str:
    """The keys a chunk's rows share with rows of earlier chunks, and where they were first."""
    return f"{chunks_prefix(job_id)}/{number}/repeats.json"


def header_key(job_id: str) -> str:
    """The header row as read: each chunk maps it the way the survey did."""
    return f"{chunks_prefix(job_id)}/header.json"


@dataclass
class _Repeats:
    """Keys a chunk's rows use that a row of an earlier chunk used first."""

    ids: dict[int, int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> bytes:
        return json.dumps(
            {"ids": list(self.ids.items()), "emails": list(self.emails.items())}
        ).encode()


def split_rows(
    ctx: Context,
    job: job_rows.Job,
    token: str,
    planner: BatchPlanner,
    rows: Iterator[Row],
) -> int:
    """Write the rows into chunks of ``chunk_rows`` in the file store with the keys each needs
    from earlier chunks, then record the chunks and hand the job to them (one transaction).
    Returns the number of chunks."""
    size = ctx.settings.chunk_rows
    seen = SeenKeys()
    with ctx.files.writer(header_key(job.id)) as out:
        out.write(json.dumps(planner.mapping.headers).encode())
    spans: list[chunk_rows.ChunkSpan] = []
    while (first := next(rows, None)) is not None:
        part = chain((first,), islice(rows, size - 1))
        spans.append(_write_chunk(ctx, job.id, len(spans), planner, seen, part))
    with ctx.engine.begin() as conn:
        chunk_rows.split_job(conn, job.id, token, spans)
    return len(spans)


def _write_chunk(
    ctx: Context,
    job_id: str,
    number: int,
    planner: BatchPlanner,
    seen: SeenKeys,
    rows: Iterator[Row],
) -> chunk_rows.ChunkSpan:
    """Write one chunk's rows and its repeats; claim its keys in ``seen`` for later chunks."""
    repeats = _Repeats()
    count, first_row = 0, 0
    with ctx.files.writer(rows_key(job_id, number)) as out:
        for block in batches(rows, SPILL_CHUNK):
            write_block(out, block)
            if not count:
                first_row = block[0][0]
            count += len(block)
            _note_repeats(planner, seen, block, first_row, repeats)
    with ctx.files.writer(repeats_key(job_id, number)) as out:
        out.write(repeats.as_json())
    return chunk_rows.ChunkSpan(first_row=first_row, rows=count)


def _note_repeats(
    planner: BatchPlanner, seen: SeenKeys, block: list[Row], first_row: int, repeats: _Repeats
) -> None:
    """Claim the block's keys in file order, as planning does; note those an earlier chunk
    (a row before ``first_row``) used first."""
    keys = planner.keys_of(block)
    seen.prefetch([(record_id, email) for _, record_id, email in keys])
    for number, record_id, email in keys:
        first_id, first_email = seen.first_rows(record_id, email)
        if record_id is not None and first_id is not None and first_id < first_row:
            repeats.ids[record_id] = first_id
        if email and first_email is not None and first_email < first_row:
            repeats.emails[email.lower()] = first_email
        seen.claim(number, record_id, email)


def start_chunks(ctx: Context, job_id: str, count: int) -> None:
    """Send a split job's chunks to the workers; a process without a queue (``--inline``,
    tests) runs them itself, one after another. A chunk that cannot be sent waits QUEUED
    until the reaper sends it again."""
    for number in range(count):
        if ctx.send_chunk is None:
            run_chunk(ctx, job_id, number)
            continue
        try:
            ctx.send_chunk(job_id, number)
        except Exception:
            log.warning("job %s: chunk %d not sent; the reaper sends it later", job_id, number)


def run_chunk(ctx: Context, job_id: str, number: int) -> ChunkResult:
    """Run (or resume) one chunk of a split import; the worker that completes the last chunk
    then ends the job. Returns how the claim went."""
    settings = ctx.settings
    with ctx.engine.begin() as conn:
        claim = chunk_rows.claim(
            conn, job_id, number, settings.job_lease_seconds, settings.max_attempts, gave_up_message
        )
    if isinstance(claim, job_rows.Finished):
        # Cancelled, failed or done: no chunk will be read again, and each holds rows in full.
        ctx.files.delete_tree(chunks_prefix(job_id))
    if not isinstance(claim, chunk_rows.ChunkClaimed):
        return claim
    chunk, token = claim.chunk, claim.token
    with settled(ctx, job_id, token, UNEXPECTED, chunk=number):
        job, options = _job_of(ctx, job_id)
        planner = _chunk_planner(ctx, job, options)
        planner.seen.prime(*_repeats(ctx, job_id, number))
        with ctx.files.open(rows_key(job_id, number)) as handle:
            rows = read_blocks(handle)
            # Rows committed before a restart: their keys noted, as the job's resume does.
            for committed in batches(islice(rows, chunk.checkpoint), settings.batch_size):
                planner.remember(committed)
            run = BatchRun(ctx, job_id, token, planner, options.dry_run, chunk=number)
            write_batches(run, rows, chunk.checkpoint)
        with ctx.engine.begin() as conn:
            chunk_rows.complete(conn, job_id, number, token)
    finish_split(ctx, job_id)
    return claim


def finish_split(ctx: Context, job_id: str) -> bool:
    """End a split job whose chunks are all done: write the one report and move it to READY.

    Any worker may call it any number of times: only one, the one whose conditional claim
    succeeds while every chunk is done and no live finisher holds the job, does the work.
    Returns whether this call ended the job.
    """
    with ctx.engine.begin() as conn:
        token = chunk_rows.claim_finish(conn, job_id, ctx.settings.job_lease_seconds)
    if token is None:
        return False
    with settled(ctx, job_id, token, UNEXPECTED):
        job, options = _job_of(ctx, job_id)
        report = None
        if job.counts.failed:
            assert job.input_file is not None  # _job_of checked it
            with ctx.files.local(job.input_file) as upload:
                report = write_report(ctx, job_id, upload, options, _sheet_info(job))
        with ctx.engine.begin() as conn:
            ended = job_rows.finish(conn, job_id, token, JobStatus.READY, report_file=report)
        if ended:
            ctx.files.delete_tree(chunks_prefix(job_id))
        return ended
    return False


def _job_of(ctx: Context, job_id: str) -> tuple[job_rows.Job, ImportOptions]:
    """The split job and its options, or a plain reason why it cannot go on."""
    with reading(ctx.engine) as conn:
        job = job_rows.job_for_worker(conn, job_id)
    if job is None or job.input_file is None or job.source is None:
        raise JobProblem("This job has no uploaded file to import.")
    try:
        options = ImportOptions.model_validate(job.options)
    except ValueError as exc:
        raise JobProblem(f"The import's options are not usable: {exc}") from None
    return job, options


def _chunk_planner(ctx: Context, job: job_rows.Job, options: ImportOptions) -> BatchPlanner:
    """The planner the survey's decisions give: the same header mapped the same way, the same
    date order."""
    with ctx.files.open(header_key(job.id)) as handle:
        header: list[str] = json.loads(handle.read())
    source: dict[str, Any] = job.source or {}
    return BatchPlanner(
        store_id=job.store_id,
        mapping=guess_mapping(header, override_of(options)),
        options=options,
        date_order=DateOrder(source["date_order"]),
        complete_rows=source["format"] == FileFormat.CSV.value,
    )


def _repeats(
    ctx: Context, job_id: str, number: int
) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
    """The keys a chunk's rows share with earlier chunks: ``(record id, row)``, ``(email, row)``."""
    with ctx.files.open(repeats_key(job_id, number)) as handle:
        found = json.loads(handle.read())
    ids = [(int(key), int(row)) for key, row in found["ids"]]
    emails = [(str(key), int(row)) for key, row in found["emails"]]
    return ids, emails


def _sheet_info(job: job_rows.Job) -> SheetInfo:
    """The file as the survey found it (the job's recorded source), to report in its format."""
    source: dict[str, Any] = job.source or {}
    return SheetInfo(
        format=FileFormat(source["format"]),
        header_row=source["header_row"],
        encoding=source.get("encoding"),
        delimiter=source.get("delimiter"),
        sheet_name=source.get("sheet"),
        sheet_names=list(source.get("sheet_names") or []),
    )
