"""The rows a survey keeps on disk come back exactly as read; a spill that fails is given up."""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bulkport.spreadsheets.spill import RowSpill


def _rows(n: int, start: int = 2) -> list[tuple[int, list[str]]]:
    odd = ["", " padded ", "line\nbreak", "tab\there", "ünïcödé 'quote' \"double\"", "\x00", "😀"]
    return [(start + i, [f"cell{i}", odd[i % len(odd)], *([""] * (i % 3))]) for i in range(n)]


def test_kept_rows_come_back_in_order_exactly_as_given(tmp_path: Path) -> None:
    rows = _rows(2500)
    with RowSpill(tmp_path) as spill:
        for start in range(0, len(rows), 1000):
            spill.keep(rows[start : start + 1000])
        assert spill.usable
        assert list(spill.rows()) == rows
    assert list(tmp_path.iterdir()) == []  # the spill was never a named file


def test_a_spill_of_no_rows_gives_no_rows(tmp_path: Path) -> None:
    with RowSpill(tmp_path) as spill:
        spill.keep([])
        assert list(spill.rows()) == []


def test_a_spill_that_cannot_be_made_is_given_up(tmp_path: Path) -> None:
    with RowSpill(tmp_path / "missing") as spill:
        spill.keep(_rows(3))
        assert not spill.usable
        with pytest.raises(RuntimeError):
            spill.rows()


_TEMPORARY_FILE = tempfile.TemporaryFile


class _FillsUp:
    """A temporary file on a disk that is full after ``room`` bytes."""

    def __init__(self, room: int, **kwargs: Any) -> None:
        self.real = _TEMPORARY_FILE(**kwargs)
        self.room = room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        written: int = self.real.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_disk_filling_up_gives_the_spill_up_and_keeps_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[_FillsUp] = []

    def temporary_file(**kwargs: Any) -> _FillsUp:
        made.append(_FillsUp(20_000, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    rows = _rows(3000)
    with RowSpill(tmp_path) as spill:
        for start in range(0, len(rows), 1000):
            spill.keep(rows[start : start + 1000])
        assert not spill.usable
    assert len(made) == 1  # given up, not tried again
    assert made[0].real.closed
