"""A use case's transaction, handed to it instead of the database engine.

``with uow.writing() as conn`` is one transaction: what the block writes commits together
when it ends, and all of it is rolled back when it raises. ``uow.reading()`` only reads, and
on SQLite takes no write lock. Each use case opens its own, so where a transaction begins
and ends is visible in the use case itself, never in the HTTP handler, page or command that
calls it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from bulkport.storage.db import reading


@dataclass(frozen=True)
class UnitOfWork:
    """The transactions of one process's database."""

    engine: Engine

    def writing(self) -> AbstractContextManager[Connection]:
        """One transaction that commits when the block ends and rolls back if it raises."""
        return self.engine.begin()

    def reading(self) -> AbstractContextManager[Connection]:
        """A connection that only reads."""
        return reading(self.engine)
