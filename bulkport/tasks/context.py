"""What a job needs from the outside world: the database, the file store, the settings, and a
way to send a job to the workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from bulkport.config import Settings
from bulkport.schemas.jobs import JobKind
from bulkport.storage.db import make_engine
from bulkport.storage.files import FileStore, file_store
from bulkport.storage.unit_of_work import UnitOfWork


class Enqueue(Protocol):
    """Sends a committed job to the workers, by its id only; raises when the queue is down.

    ``input_bytes`` is the size of the job's input file (0 without one): with the kind it
    decides which queue the job waits in, so that a large import never holds up small jobs.
    """

    def __call__(self, kind: JobKind, job_id: str, input_bytes: int = 0) -> None: ...


class SendChunk(Protocol):
    """Sends one chunk of a split import to the workers, by job id and chunk number only."""

    def __call__(self, job_id: str, number: int) -> None: ...


def run_here(kind: JobKind, job_id: str, input_bytes: int = 0) -> None:
    """The queue of a process that runs its jobs itself (``--inline``, tests): sends nothing."""


@dataclass(frozen=True)
class Context:
    """Handles shared by the API, the worker and the CLI; one per process.

    ``enqueue`` is handed in by whoever builds the context: the API, the worker and the CLI
    send to the Celery workers (``bulkport.worker.app.enqueue``); nothing in ``tasks`` knows
    the queue.
    """

    settings: Settings
    engine: Engine
    files: FileStore
    enqueue: Enqueue = run_here
    # None: this process runs a split import's chunks itself, one after another.
    send_chunk: SendChunk | None = None
    # What a job's work raises when it runs out of time (the worker's are Celery's); such a
    # job ends FAILED saying so (``job_lifecycle.settled``).
    time_limit_errors: tuple[type[BaseException], ...] = ()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        enqueue: Enqueue = run_here,
        send_chunk: SendChunk | None = None,
        time_limit_errors: tuple[type[BaseException], ...] = (),
    ) -> Context:
        """Open the database and file store that the settings name."""
        return cls(
            settings=settings,
            engine=make_engine(settings.database),
            files=file_store(settings),
            enqueue=enqueue,
            send_chunk=send_chunk,
            time_limit_errors=time_limit_errors,
        )

    @property
    def uow(self) -> UnitOfWork:
        """The transactions a use case opens on this process's database."""
        return UnitOfWork(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
