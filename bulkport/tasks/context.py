"""What a job needs from the outside world: the database, the file store and the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from bulkport.config import Settings
from bulkport.storage.db import make_engine
from bulkport.storage.files import FileStore


@dataclass(frozen=True)
class Context:
    """Handles shared by the API, the worker and the CLI; one per process."""

    settings: Settings
    engine: Engine
    files: FileStore

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        """Open the database and file store that the settings name."""
        return cls(
            settings=settings,
            engine=make_engine(settings.database),
            files=FileStore(settings.files_root),
        )

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
