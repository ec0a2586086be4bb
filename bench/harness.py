"""The moving parts of a measurement: databases, real worker processes, RSS sampling, jobs.

A measured job is run the way production runs it: the file is stored in the file store, the
job row is created by ``submit_import``/``submit_export``, a Celery worker started as its own
process (``celery -A bulkport.worker.app worker --pool=prefork``) picks the job id from Redis,
and the clock runs from ``apply_async`` until the job row says READY.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # bench-only need (installed in the project's venv, not a runtime dependency)
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bulkport.config import Settings
from bulkport.rules.dates import DateOrder
from bulkport.schemas.accounts import Role
from bulkport.schemas.exports import ExportRequest
from bulkport.schemas.jobs import ImportOptions
from bulkport.storage import accounts, customer_writes, job_rows
from bulkport.storage.db import migrate as migrate_schema
from bulkport.storage.db import reading
from bulkport.tasks.context import Context
from bulkport.tasks.exports import submit_export
from bulkport.tasks.imports import submit_import, upload_key

from . import data
from .data import KEYS

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
DB_PREFIX = "bulkport_bench_"


# The bench's Redis database (flushed before and after a run).
BENCH_REDIS = "redis://127.0.0.1:6379/12"


@dataclass(frozen=True)
class Services:
    """Where PostgreSQL and Redis are, and the folder the run works in."""

    pg_admin_url: str  # SQLAlchemy URL of a database to connect to for CREATE/DROP DATABASE
    redis_url: str
    work: Path  # homes, file stores and databases of SQLite; removed after the run
    logs: Path  # worker, API and django logs; kept
    batch_size: int = 1000

    @classmethod
    def inline(
        cls, pg_admin_url: str, work: Path, logs: Path | None = None, batch_size: int = 1000
    ) -> Services:
        """The services of a tool that runs its job in its own process (no worker)."""
        return cls(
            pg_admin_url=pg_admin_url,
            redis_url=BENCH_REDIS,
            work=work,
            logs=work / "logs" if logs is None else logs,
            batch_size=batch_size,
        )

    def pg_url(self, name: str) -> str:
        """SQLAlchemy URL of the database ``name`` on the same server."""
        return make_url(self.pg_admin_url).set(database=name).render_as_string(False)

    def libpq(self, url: str) -> str:
        """A libpq connection string for a SQLAlchemy URL (for psycopg directly)."""
        return make_url(url).set(drivername="postgresql").render_as_string(False)


class Databases:
    """The run's PostgreSQL databases (all named ``bulkport_bench_*``), dropped at the end."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.made: list[str] = []
        self.run_tag = uuid.uuid4().hex[:6]

    def create(self, label: str, *, migrate: bool = True) -> str:
        """A fresh database (with bulkport's schema unless told not); its SQLAlchemy URL."""
        name = f"{DB_PREFIX}{label}_{self.run_tag}".lower()
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        url = self.services.pg_url(name)
        if migrate:
            migrate_schema(url)
        return url

    def drop_all(self) -> None:
        """Drop every database this run made."""
        with self._admin() as conn:
            for name in self.made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.services.libpq(self.services.pg_admin_url), autocommit=True)

    def server_version(self) -> str:
        """PostgreSQL's version string."""
        with self._admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def flush_redis(url: str) -> None:
    """Empty the bench's Redis database."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Store:
    """A configured bulkport (settings, context) with one store and one admin user."""

    settings: Settings
    ctx: Context
    store_id: int
    user_id: int

    @classmethod
    def open(
        cls,
        services: Services,
        home: Path,
        database_url: str,
        name: str,
        chunk_rows: int | None = None,
    ) -> Store:
        """Settings for ``home``/``database_url``, the schema migrated, a store and a user.

        ``chunk_rows``: imports of more rows are split into chunks; unset, no import is (the
        one-pass lines measure one worker process reading the whole file).
        """
        home.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            home=home,
            database_url=database_url,
            broker_url=services.redis_url,
            batch_size=services.batch_size,
        )
        settings = settings.model_copy(update={"chunk_rows": chunk_rows or settings.max_rows})
        migrate_schema(settings.database)
        ctx = Context.from_settings(settings)
        with ctx.engine.begin() as conn:
            store_id = accounts.ensure_store(conn, name)
            user = accounts.ensure_user(conn, store_id, "bench@example.com", Role.ADMIN)
        return cls(settings, ctx, store_id, user.id)

    def env(self) -> dict[str, str]:
        """The environment a worker or API process of this store runs with."""
        return {
            "BULKPORT_DATABASE_URL": self.settings.database,
            "BULKPORT_BROKER_URL": self.settings.broker_url or "",
            "BULKPORT_HOME": str(self.settings.home.resolve()),
            "BULKPORT_BATCH_SIZE": str(self.settings.batch_size),
            "BULKPORT_CHUNK_ROWS": str(self.settings.chunk_rows),
        }

    def close(self) -> None:
        """Release the database connections."""
        self.ctx.close()

    def preload(self, preload_csv: Path, batch: int = 10_000) -> float:
        """Store the scenario's existing customers (untimed setup); returns the seconds taken.

        Each row goes through bulkport's own row parser (so it is stored exactly as an import
        would store it) and ``customer_writes.insert_many`` in batches.
        """
        from bulkport.rules.customer import RowParser

        started = time.perf_counter()
        parser = RowParser(dict(enumerate(KEYS)), DateOrder.DMY)
        with preload_csv.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            records: list[dict[str, Any]] = []
            for cells in reader:
                values, problems = parser.parse(cells)
                if problems:
                    raise RuntimeError(f"preload row does not parse: {problems}")
                records.append(values)
                if len(records) >= batch:
                    self._insert(records)
                    records = []
            self._insert(records)
        if self.ctx.engine.dialect.name == "postgresql":
            # A store that has these customers has had its statistics gathered too.
            with self.ctx.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "VACUUM ANALYZE customers"
                )
        return time.perf_counter() - started

    def _insert(self, records: list[dict[str, Any]]) -> None:
        if records:
            with self.ctx.engine.begin() as conn:
                customer_writes.insert_many(conn, self.store_id, records)

    def count(self) -> int:
        """The store's customers."""
        query = text("SELECT count(*) FROM customers WHERE store_id = :s AND deleted_at IS NULL")
        with reading(self.ctx.engine) as conn:
            return int(conn.execute(query, {"s": self.store_id}).scalar_one())

    def stage_import(self, path: Path, filename: str) -> str:
        """Store ``path`` as an upload and create its QUEUED import job; returns the job id."""
        job_id = job_rows.new_job_id()
        key = upload_key(job_id)
        with path.open("rb") as source, self.ctx.files.writer(key) as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        queued = submit_import(
            self.ctx,
            store_id=self.store_id,
            user_id=self.user_id,
            job_id=job_id,
            key=key,
            options=ImportOptions(filename=filename),
        )
        if not queued:
            raise RuntimeError(f"the import job {job_id} failed straight from QUEUED")
        return job_id

    def stage_list(self, kind: str, path: Path) -> str:
        """Store ``path`` as the upload of a QUEUED archive, merge or delete job; its id."""
        from bulkport.schemas.lifecycle import ListOptions
        from bulkport.tasks.customer_changes import ARCHIVE, MERGE
        from bulkport.tasks.customer_lists import list_key, submit_list
        from bulkport.tasks.deletions import DELETE

        spec = {s.kind.value: s for s in (ARCHIVE, MERGE, DELETE)}[kind]
        job_id = job_rows.new_job_id()
        with path.open("rb") as source, self.ctx.files.writer(list_key(job_id)) as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        options = ListOptions(confirm=True, filename=path.name)
        submit_list(self.ctx, spec, store_id=self.store_id, user_id=self.user_id, job_id=job_id,
                    options=options)  # fmt: skip
        return job_id

    def customer_ids(self) -> list[int]:
        """The store's customers' ids, in order."""
        query = text("SELECT id FROM customers WHERE store_id = :s ORDER BY id")
        with reading(self.ctx.engine) as conn:
            return [int(i) for i in conn.execute(query, {"s": self.store_id}).scalars()]

    def stage_export(self, fmt: str) -> str:
        """Create a QUEUED export job of every (non-archived) customer; returns its id."""
        request = ExportRequest.model_validate({"format": fmt})
        return submit_export(
            self.ctx, store_id=self.store_id, user_id=self.user_id, request=request
        )

    def job(self, job_id: str) -> job_rows.Job:
        """The job row as stored."""
        with reading(self.ctx.engine) as conn:
            found = job_rows.job_for_worker(conn, job_id)
        if found is None:
            raise RuntimeError(f"no job {job_id}")
        return found


class RssSampler:
    """Samples the memory of a process and all its descendants every ``interval`` seconds.

    Three peaks: the tree's RSS summed (pages shared by the prefork parent and its child are
    counted twice), the tree's PSS summed (shared pages split between the processes sharing
    them: what the machine really holds for this worker), and the largest single process's RSS
    (the pool child doing the job).

    RSS is cheap to read (``/proc/<pid>/statm``); PSS is not: the kernel walks the process's
    page tables (about 2 ms for a 150 MB worker), holding its memory map's lock while it does.
    Read for both processes twenty times a second, as the bench first did, that cost the bench
    process 13–16 % of a core during every measured job, on the two cores the job and
    PostgreSQL share, while the floors ran unsampled. So PSS is read once a second, and
    sooner when the tree's RSS has grown by ``PSS_STEP`` since the last PSS reading (at most
    every ``PSS_SOONEST`` seconds): the PSS peak is caught as memory climbs, within about
    ``PSS_STEP`` of it (PSS never exceeds RSS, and moves with it). The list of processes is
    read again every second (a pool child is forked once, at the start).
    """

    PSS_EVERY = 1.0
    PSS_SOONEST = 0.2
    PSS_STEP = 2 * MB

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_tree = 0
        self.peak_pss = 0
        self.peak_process = 0
        self.samples = 0
        self.pss_samples = 0
        self._tree: list[psutil.Process] = []
        self._tree_read = -math.inf
        self._pss_read = -math.inf
        self._rss_at_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _processes(self, now: float) -> list[psutil.Process]:
        if now - self._tree_read >= self.PSS_EVERY:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                self._tree = [self.root, *self.root.children(recursive=True)]
            self._tree_read = now
        return self._tree

    def sample(self) -> tuple[int, int | None, int]:
        """One reading in bytes: (tree RSS, tree PSS or None when not read now, largest
        process RSS)."""
        now = time.monotonic()
        processes = self._processes(now)
        rss = []
        for proc in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                rss.append(proc.memory_info().rss)
        tree = sum(rss)
        since = now - self._pss_read
        grown = tree >= self._rss_at_pss + self.PSS_STEP
        pss: int | None = None
        if since >= self.PSS_EVERY or (grown and since >= self.PSS_SOONEST):
            pss = 0
            for proc in processes:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    full = proc.memory_full_info()
                    pss += getattr(full, "pss", full.rss)
            self._pss_read, self._rss_at_pss = now, tree
            self.pss_samples += 1
        return tree, pss, max(rss, default=0)

    def _run(self) -> None:
        while not self._stop.is_set():
            tree, pss, biggest = self.sample()
            self.peak_tree = max(self.peak_tree, tree)
            if pss is not None:
                self.peak_pss = max(self.peak_pss, pss)
            self.peak_process = max(self.peak_process, biggest)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        # One last PSS reading: the job's end is where an import's memory peaks.
        self._pss_read = -math.inf
        pss = self.sample()[1]
        if pss is not None:
            self.peak_pss = max(self.peak_pss, pss)


class Worker:
    """A real Celery worker process (prefork) on its own queue, for one store's settings."""

    def __init__(
        self,
        store: Store,
        log: Path,
        *,
        queue: str | None = None,
        concurrency: int = 1,
        also: tuple[str, ...] = (),
    ) -> None:
        """``also``: further queues the worker reads (``large``, where chunks wait)."""
        self.store = store
        self.queue = queue
        self.log = log
        argv = [
            sys.executable, "-m", "celery", "-A", "bulkport.worker.app", "worker",
            "--pool=prefork", f"--concurrency={concurrency}", "--loglevel=INFO",
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        if queue:
            argv += ["-Q", ",".join((queue, *also))]
        self.argv = argv
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> Worker:
        """Start the worker and wait until it says it is ready."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.store.env()}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + timeout
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the worker did not start:\n{tail}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        """The worker's main process id."""
        assert self.process is not None
        return self.process.pid

    def idle_pss(self) -> int:
        """The worker tree's PSS now, in bytes."""
        pss = RssSampler(self.pid).sample()[1]  # a new sampler's first reading has PSS
        assert pss is not None
        return pss

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then a kill if it does not end in 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _cpu_of(procs: list[psutil.Process]) -> dict[int, float]:
    """Each process's CPU seconds, with those of its children that ended (and were waited
    for): a PostgreSQL backend whose connection closes mid-job hands its time to the
    postmaster, where it is still counted."""
    seconds: dict[int, float] = {}
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = proc.cpu_times()
            seconds[proc.pid] = (
                times.user + times.system + times.children_user + times.children_system
            )
    return seconds


def _postgres() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            found.append(proc)
    return found


class CpuWatch:
    """Where the machine's CPU went during a job: the worker, PostgreSQL, this bench, others.

    Another engineer's tests or benchmarks on the same two cores slow a job down; this makes
    that visible in the results instead of hiding it in a slower figure.
    """

    def __init__(self, worker_pid: int) -> None:
        self.worker = psutil.Process(worker_pid)
        self.me = psutil.Process()

    def _ours(self) -> tuple[dict[int, float], dict[int, float], float]:
        worker = _cpu_of([self.worker, *self.worker.children(recursive=True)])
        pg = _cpu_of(_postgres())
        mine = self.me.cpu_times()
        return worker, pg, mine.user + mine.system

    def __enter__(self) -> CpuWatch:
        self.started = time.perf_counter()
        self.system = psutil.cpu_times()
        self.worker0, self.pg0, self.me0 = self._ours()
        return self

    def __exit__(self, *_: object) -> None:
        wall = time.perf_counter() - self.started
        end = psutil.cpu_times()
        idle = (end.idle + getattr(end, "iowait", 0.0)) - (
            self.system.idle + getattr(self.system, "iowait", 0.0)
        )
        busy = (sum(end) - sum(self.system)) - idle
        worker1, pg1, me1 = self._ours()
        # Whole sums: a process gone by now left its time to its parent (``_cpu_of``).
        worker = sum(worker1.values()) - sum(self.worker0.values())
        pg = sum(pg1.values()) - sum(self.pg0.values())
        me = me1 - self.me0
        cores = psutil.cpu_count() or 1
        self.figures = {
            "cpu_wall_seconds": round(wall, 3),
            "cpu_busy_seconds": round(busy, 2),
            "cpu_worker_seconds": round(worker, 2),
            "cpu_postgres_seconds": round(pg, 2),
            "cpu_bench_seconds": round(me, 2),
            "cpu_others_seconds": round(max(0.0, busy - worker - pg - me), 2),
            "cpu_others_share": round(max(0.0, busy - worker - pg - me) / (wall * cores), 3),
        }


def wait_quiet(limit: float, threshold: float = 20.0) -> dict[str, float]:
    """Wait (at most ``limit`` s) until the machine's CPU use over a second is below
    ``threshold`` percent, so that a job is not measured while something else runs."""
    started = time.perf_counter()
    load = psutil.cpu_percent(interval=1.0)
    while load >= threshold and time.perf_counter() - started < limit:
        load = psutil.cpu_percent(interval=1.0)
    return {"quiet_wait_seconds": round(time.perf_counter() - started, 1), "cpu_before": load}


@dataclass
class JobRun:
    """One measured job: wall time from enqueue to READY, the worker's peak RSS, the job."""

    seconds: float
    peak_rss_tree: int
    peak_pss_tree: int
    peak_rss_process: int
    idle_pss_tree: int
    job: job_rows.Job
    extra: dict[str, Any] = field(default_factory=dict)

    def rows_per_second(self, rows: int) -> float:
        """Throughput over the measured time."""
        return rows / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        """The figures, for results.json."""
        c = self.job.counts
        return {
            "seconds": round(self.seconds, 3),
            "peak_pss_tree_mb": round(self.peak_pss_tree / MB, 1),
            "peak_rss_tree_mb": round(self.peak_rss_tree / MB, 1),
            "peak_rss_process_mb": round(self.peak_rss_process / MB, 1),
            "idle_pss_tree_mb": round(self.idle_pss_tree / MB, 1),
            "status": str(self.job.status),
            "counts": c.model_dump(),
            **self.extra,
        }


def run_job(
    store: Store, worker: Worker, job_id: str, kind: str, timeout: float, quiet: float = 0
) -> JobRun:
    """Send the job to the worker, poll its row until it is finished, and time it."""
    from bulkport.schemas.jobs import JobKind
    from bulkport.worker.app import TASKS

    task = TASKS[JobKind(kind)]
    if task.app.conf.broker_url != store.settings.broker_url:
        raise RuntimeError(
            f"the bench would send to {task.app.conf.broker_url}, not {store.settings.broker_url}"
        )
    idle = worker.idle_pss()
    waited = wait_quiet(quiet) if quiet else {}
    with RssSampler(worker.pid) as sampler, CpuWatch(worker.pid) as cpu:
        started = time.perf_counter()
        if worker.queue:
            task.apply_async(args=(job_id,), queue=worker.queue)
        else:
            task.apply_async(args=(job_id,))
        deadline = started + timeout
        while True:
            job = store.job(job_id)
            if job.status.finished:
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"{kind} job {job_id} still {job.status} after {timeout:.0f} s "
                    f"({job.counts.processed:,} rows processed)"
                )
            if worker.process is not None and worker.process.poll() is not None:
                raise RuntimeError(f"the worker died (see {worker.log})")
            time.sleep(0.05)
    run = JobRun(seconds, sampler.peak_tree, sampler.peak_pss, sampler.peak_process, idle, job)
    run.extra.update(waited, **cpu.figures, rss_samples=sampler.samples)
    return run


@contextlib.contextmanager
def staged_import(
    services: Services, backend: str, rows: int, fmt: str, label: str
) -> Iterator[tuple[Store, str]]:
    """A store preloaded as in the measured lines (its own PostgreSQL database, or SQLite
    under ``services.work``) with the scenario's import staged, for running a job inline;
    the database and the folder are dropped afterwards."""
    databases = Databases(services)
    scenario = data.scenario(rows, fmt)
    try:
        if backend == "pg":
            url = databases.create(label)
        else:
            services.work.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(services.work / 'bulkport.db').resolve()}"
        store = Store.open(services, services.work / "home", url, "bench")
        store.preload(scenario.preload_csv)
        try:
            yield store, store.stage_import(scenario.import_path, f"customers.{fmt}")
        finally:
            store.close()
    finally:
        databases.drop_all()
        shutil.rmtree(services.work, ignore_errors=True)
