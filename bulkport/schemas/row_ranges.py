"""A set of spreadsheet row numbers written as compact ranges (``2-5,17,40-``): what a job
that imports only some rows of an upload keeps with its options, however many rows it names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
# A range of row numbers, first to last inclusive; ``None`` as the last runs to the file's end.
Span = tuple[int, int | None]
# One part as written: a row number, a range (either way round) or an open range.
PART_PATTERN = "[1-9][0-9]*(-([1-9][0-9]*)?)?"
RANGES_PATTERN = f"^ *{PART_PATTERN} *(, *{PART_PATTERN} *)*$"
_PART = re.compile(PART_PATTERN)


@dataclass(frozen=True)
class RowRanges:
    """Row numbers in order, as non-overlapping, non-touching spans; only the last may be open."""

    spans: tuple[Span, ...]

    @classmethod
    def parse(cls, text: str) -> RowRanges:
        """Ranges as written (``2-5,17,40-``); raises ``ValueError`` with the part at fault."""
        spans: list[Span] = []
        for part in (p.strip() for p in text.split(",")):
            if not _PART.fullmatch(part):
                raise ValueError(f"{part!r} is no row number or range (such as 2-5 or 40-)")
            first, dash, last = part.partition("-")
            start, end = int(first), (int(last) if last else None) if dash else int(first)
            spans.append((start, end) if end is None else (min(start, end), max(start, end)))
        return cls.of_spans(spans)

    @classmethod
    def of_spans(cls, spans: Iterable[Span]) -> RowRanges:
        """The union of ``spans``, in any order."""
        merged: list[Span] = []
        for first, last in sorted(spans, key=lambda s: s[0]):
            if merged:
                top_first, top_last = merged[-1]
                if top_last is None or first <= top_last + 1:
                    wider = None if top_last is None or last is None else max(top_last, last)
                    merged[-1] = (top_first, wider)
                    continue
            merged.append((first, last))
        return cls(tuple(merged))

    @classmethod
    def of_rows(cls, rows: Iterable[int]) -> RowRanges:
        """The ranges of these row numbers (in any order)."""
        return cls.of_spans((row, row) for row in rows)

    def __str__(self) -> str:
        return ",".join(
            f"{a}-" if b is None else str(a) if a == b else f"{a}-{b}" for a, b in self.spans
        )

    def __bool__(self) -> bool:
        return bool(self.spans)

    def count(self) -> int | None:
        """How many row numbers the ranges hold; ``None`` when the last is open."""
        if self.spans and self.spans[-1][1] is None:
            return None
        return sum((b or a) - a + 1 for a, b in self.spans)

    def __contains__(self, row: int) -> bool:
        return any(a <= row and (b is None or row <= b) for a, b in self.spans)

    def within(self, first: int, last: int | None = None) -> RowRanges:
        """The row numbers from ``first`` to ``last`` (to the end when ``None``) held here."""
        kept: list[Span] = []
        for a, b in self.spans:
            start = max(a, first)
            end = b if last is None else last if b is None else min(b, last)
            if end is None or start <= end:
                kept.append((start, end))
        return RowRanges(tuple(kept))

    def after(self, start: int, skip: int) -> int | None:
        """The row number ``skip`` places after the first one held from ``start`` on (``None``
        when the ranges end sooner): where a job that read ``skip`` of these rows stands."""
        for a, b in self.within(start).spans:
            if b is None or skip <= b - a:
                return a + skip
            skip -= b - a + 1
        return None

    def select(self, rows: Iterable[tuple[int, T]]) -> Iterator[tuple[int, T]]:
        """The rows (numbered, in increasing order) whose numbers are held here, streamed."""
        spans = iter(self.spans)
        span = next(spans, None)
        for row in rows:
            while span is not None and span[1] is not None and row[0] > span[1]:
                span = next(spans, None)
            if span is None:
                return
            if row[0] >= span[0]:
                yield row


EVERY_ROW = RowRanges(((1, None),))
