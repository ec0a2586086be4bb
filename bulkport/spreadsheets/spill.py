"""The rows of one read of an upload, kept on disk so that a job reads its file only once.

An import reads its file twice: the survey (every row, before anything is written: the row
count, the date order, any unreadable row) and then the batches. Reading a row again costs
about 9 µs from CSV and 55 µs from XLSX; taking it back from a spill costs about 1.5 µs and
writing it there 1 µs. The spill is an unnamed temporary file (gone when closed, or when the
process dies), next to the upload; it holds the rows exactly as the reader gave them, in
chunks of ``marshal`` data (each behind its size), so memory stays one chunk.

A spill that cannot be written (a full disk) is given up: the job then reads its file again,
as it always could.
"""

from __future__ import annotations

import logging
import marshal
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from bulkport.spreadsheets.sources import Rows

log = logging.getLogger(__name__)
_SIZE = struct.Struct("<I")


def write_block(out: IO[bytes], rows: list[tuple[int, list[str]]]) -> None:
    """Append rows to a file of kept rows: one ``marshal`` block behind its size."""
    blob = marshal.dumps(rows)
    out.write(_SIZE.pack(len(blob)))
    out.write(blob)


def read_blocks(handle: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """The rows of a file ``write_block`` wrote, in order, from where ``handle`` stands.

    Only for files bulkport wrote itself (its spill, its chunks in the file store): marshal
    trusts its input.
    """
    while head := handle.read(_SIZE.size):
        (size,) = _SIZE.unpack(head)
        yield from marshal.loads(handle.read(size))  # noqa: S302


class RowSpill:
    """Rows written once (``keep`` a chunk at a time), then read back once (``rows``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file: IO[bytes] | None = None
        self.given_up = False

    def __enter__(self) -> RowSpill:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def keep(self, chunk: list[tuple[int, list[str]]]) -> None:
        """Add rows after those kept before; a failed write gives the spill up."""
        if self.given_up or not chunk:
            return
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile(dir=self.folder, prefix=".rows-")  # noqa: SIM115  closed by close()
            write_block(self.file, chunk)
        except OSError as exc:
            log.warning("rows not kept on disk (%s); the file will be read again", exc)
            self.close()
            self.given_up = True

    @property
    def usable(self) -> bool:
        """Whether every kept row can be read back."""
        return not self.given_up

    def rows(self) -> Rows:
        """The kept rows, in order, from the first."""
        if self.given_up:
            raise RuntimeError("the spill was given up; read the file instead")
        return self._read() if self.file is not None else iter(())

    def _read(self) -> Iterator[tuple[int, list[str]]]:
        file = self.file
        assert file is not None
        file.flush()
        file.seek(0)
        yield from read_blocks(file)

    def close(self) -> None:
        """Drop the kept rows (the file was never named: nothing stays on disk)."""
        if self.file is not None:
            self.file.close()
            self.file = None
