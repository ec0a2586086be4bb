"""A sheet's rows, read by expat's handlers one row at a time, as the text a person sees.

Rows come in document order with their Excel row numbers (a row numbered at or below one
already read is skipped, as spreadsheet programs do); cells are placed by their ``r`` (or
after the previous cell); a row is as wide as its last cell, trailing empty cells left out;
blank rows are given only when data follows them. Formulas give their cached values. An
inflated ``<dimension>`` costs nothing: only the cells that exist are read. Memory holds one
row (and the workbook's shared strings).

A failure comes after the rows read before it, in words: the XML breaking after row N, a
limit of ``ReadLimits``, entity declarations (refused by the parser, never expanded).

Where openpyxl reads a sheet, the rows, texts and refusals are the ones it gives (the
tests compare the two on many workbooks), which is why some comments name it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, NoReturn

from bulkport.errors import JobProblem, LimitExceeded, UnreadableFile
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.xlsx import safexml
from bulkport.spreadsheets.xlsx.coordinates import (
    COLUMNS,
    DIGITS,
    column_letter,
    coordinate_column,
)
from bulkport.spreadsheets.xlsx.names import IS, ROW, T, V, is_run, is_text, known_names
from bulkport.spreadsheets.xlsx.package import Book, Package
from bulkport.spreadsheets.xlsx.refusals import DAMAGED, ENTITIES, SAVE_AGAIN, damaged_after
from bulkport.spreadsheets.xlsx.values import DEFERRED, CellTexts, unescape

# Excel's own limit: rows in a sheet.
EXCEL_ROWS = 1_048_576
# A row holding more cells than this is no spreadsheet's: refused, so one row stays small.
MAX_ROW_CELLS = 1 << 18

Row = tuple[int, list[str]]


def sheet_rows(
    package: Package, book: Book, index: int, limits: ReadLimits
) -> Generator[Row, None, None]:
    """The rows of the book's sheet ``index`` that hold cells, with their row numbers."""
    reader = _SheetHandlers(book, limits)
    out = reader.rows.out
    try:
        with package.open(book.sheet_parts[index]) as stream:
            while chunk := stream.read(safexml.CHUNK):
                reader.feed(chunk)
                if out:
                    yield from out
                    out.clear()
            reader.finish()
    except Exception as exc:
        failure = exc
    else:
        yield from out
        return
    yield from out
    out.clear()
    raise _refusal(failure, reader.rows.number) from failure


class _Rows:
    """A finished row's checks (row numbers, limits, width, cell length) and the rows ready
    to be given (``out``), blank rows held until data follows."""

    def __init__(self, limits: ReadLimits) -> None:
        self.max_rows = limits.max_rows
        self.max_columns = limits.max_columns
        self.max_chars = limits.max_cell_chars
        self.out: list[Row] = []
        self.pending_blank: list[int] = []
        # The last row number gone through (empty rows too), the next one expected, and
        # the rows holding cells so far.
        self.number = 0
        self.expected = 1
        self.seen = 0

    def end_row(
        self,
        row_number: int,
        cells: int,
        texts: list[str],
        last_column: int,
        unordered: dict[int, str] | None,
        deferred: bool,
    ) -> None:
        """A row read to its end: checked, and queued in ``out`` (or held if blank)."""
        if not self.advance(row_number) or not cells:
            return
        self.count()
        if unordered is not None:
            # A row is as wide as its last cell; a later cell replaces an earlier one.
            texts = [unordered.get(position, "") for position in range(1, last_column + 1)]
            while texts and not texts[-1]:
                texts.pop()
        self.check_cells(row_number, texts, deferred)
        if not texts:
            self.pending_blank.append(row_number)
            return
        if self.pending_blank:
            self.out.extend((blank, []) for blank in self.pending_blank)
            self.pending_blank.clear()
        self.out.append((row_number, texts))

    def advance(self, row_number: int) -> bool:
        """Move on to this row; false for a row numbered at or below one already read,
        which is skipped."""
        if row_number < self.expected:
            return False
        if row_number > EXCEL_ROWS:
            # No spreadsheet program writes one; a reader walking every row number up to
            # it would be busy for days.
            raise UnreadableFile(
                f"This workbook has rows past Excel's last row ({EXCEL_ROWS:,}); no "
                "spreadsheet program writes such a file. " + SAVE_AGAIN
            )
        self.number = row_number
        self.expected = row_number + 1
        return True

    def count(self) -> None:
        """One more row holding cells, within ``max_rows``."""
        self.seen += 1
        if self.seen > self.max_rows:
            raise LimitExceeded(
                f"The sheet has more than {self.max_rows:,} rows, more than bulkport "
                "imports at once. Split the customer list into smaller files."
            )

    def check_cells(self, number: int, texts: list[str], deferred: bool) -> None:
        """Refuse a row too wide, holding an undefined number format, or a cell too long."""
        width = len(texts)
        if width > self.max_columns:
            raise LimitExceeded(
                f"Row {number} has {width:,} columns; bulkport reads at most "
                f"{self.max_columns:,}. Delete the unused columns on the right and upload "
                "again."
            )
        if deferred and any(text is DEFERRED for text in texts):
            raise ValueError("a number format the workbook does not define")
        max_chars = self.max_chars
        if texts and max(map(len, texts)) > max_chars:
            index = next(i for i, text in enumerate(texts) if len(text) > max_chars)
            raise LimitExceeded(
                f"Row {number} has a cell ({column_letter(index + 1)}{number}) longer "
                f"than {max_chars:,} characters; customer fields are far shorter."
            )


def _row_number(reference: str | None, previous: int) -> int:
    """A row's number: its ``r`` ("7.0" too), else one past the previous row."""
    if reference is None:
        return previous + 1
    try:
        return int(reference)
    except ValueError:
        real = float(reference)
        if not real.is_integer():
            raise ValueError(f"{reference} is not a row number") from None
        return int(real)


def _refusal(failure: Exception, number: int) -> JobProblem:
    """What a failure while streaming rows tells the person who uploaded the file."""
    if isinstance(failure, JobProblem):
        return failure
    if isinstance(failure, safexml.Refused):
        return UnreadableFile(ENTITIES)
    if number == 0:
        return UnreadableFile(DAMAGED)
    return UnreadableFile(damaged_after(number))


# Where the reader is: outside rows, in a row, a cell, its value, its inline string, the
# inline string's text, a rich text run, and the run's text.
_OUT, _IN_ROW, _CELL, _VALUE, _INLINE, _INLINE_TEXT, _RUN, _RUN_TEXT = range(8)
_TEXTS = frozenset((_VALUE, _INLINE_TEXT, _RUN_TEXT))
# What a row inside another row keeps of the outer one until it ends.
_OUTER_STATE = (
    "mode", "skip", "captured", "row_reference", "cells", "texts", "column", "unordered",
    "deferred", "row_error", "kind", "style", "cell_column", "value", "seen_value",
    "seen_inline", "plain", "run", "runs",
)  # fmt: skip


class _SheetHandlers:
    """The expat handlers of one sheet and the state they share.

    ``start`` and ``end`` dispatch on where the reader is (``mode``) through one table each;
    ``feed`` parses a chunk, leaving the rows it completed in ``rows.out``. The handlers a
    cell goes through call few helpers: they run for every cell of the sheet.

    Like openpyxl, a row counts wherever it is, even inside another row or cell (the outer
    one's state is kept on a stack meanwhile); a row's number is settled at its end (a row
    without ``r`` follows the row that ended last); and a row directly inside a row is, for
    the outer row, an empty cell (openpyxl has cleared it by then).
    """

    def __init__(self, book: Book, limits: ReadLimits) -> None:
        self.rows = _Rows(limits)
        texts_of = CellTexts(book.strings, book.styles, book.epoch)
        self.strings = texts_of.strings
        self.cell_text = texts_of.text
        self.max_columns = limits.max_columns
        self.pieces: list[str] = []  # character data, kept while a value or a text is open
        self.outer: list[tuple[Any, ...]] = []  # the state of rows around a nested one
        self.mode = _OUT
        self.skip = 0  # depth inside an element whose content does not count
        self.captured: str | None = None  # a text ended early by a child element
        self.last_row = 0  # the number of the row that ended last
        # The row being read.
        self.row_reference: str | None = None
        self.cells = 0
        self.texts: list[str] = []
        self.column = 0  # the last cell's column
        self.unordered: dict[int, str] | None = None  # cells by column once out of order
        self.deferred = False
        self.row_error: Exception | None = None  # a cell openpyxl fails on, at the row's end
        # The cell being read.
        self.kind = "n"
        self.style = 0
        self.cell_column = 0
        self.value: str | None = None
        self.seen_value = self.seen_inline = False
        self.plain: str | None = None
        self.run: str | None = None
        self.runs: list[str] | None = None
        self.starts: dict[int, Callable[[str, dict[str, str]], None]] = {
            _OUT: _ignore,
            _IN_ROW: self.start_cell,
            _CELL: self.start_in_cell,
            _VALUE: self.skip_child,
            _INLINE: self.start_in_inline,
            _INLINE_TEXT: self.skip_child,
            _RUN: self.start_in_run,
            _RUN_TEXT: self.skip_child,
        }
        self.ends: dict[int, Callable[[], None]] = {
            _OUT: _nothing,
            _IN_ROW: self.end_row,
            _CELL: self.end_cell,
            _VALUE: self.end_value,
            _INLINE: self.end_inline,
            _INLINE_TEXT: self.end_inline_text,
            _RUN: self.end_run,
            _RUN_TEXT: self.end_run_text,
        }
        parser = self.parser = safexml.parser(known_names())
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.pieces.append

    def feed(self, chunk: bytes) -> None:
        self.parser.Parse(chunk, False)
        if self.mode not in _TEXTS or self.captured is not None:
            self.pieces.clear()  # character data outside a value or text is never kept

    def finish(self) -> None:
        self.parser.Parse(b"", True)

    # --- dispatch ----------------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name in ROW:
            self.start_row(attrs)  # a row counts wherever it is, skipped content too
        elif self.skip:
            self.skip += 1
        else:
            self.starts[self.mode](name, attrs)

    def end(self, _name: str) -> None:
        if self.skip:
            self.skip -= 1
        else:
            self.ends[self.mode]()

    def skip_child(self, _name: str, _attrs: dict[str, str]) -> None:
        """An element whose content does not count."""
        self.end_own_text()
        self.skip = 1

    def end_own_text(self) -> None:
        """A child inside a value or a text ends that element's own text (openpyxl reads
        ``element.text``)."""
        if self.mode in _TEXTS and self.captured is None:
            self.captured = "".join(self.pieces)

    def open_text(self, mode: int) -> None:
        self.pieces.clear()
        self.captured = None
        self.mode = mode

    def closed_text(self) -> str:
        """The text of the value or text element ending now."""
        captured = self.captured
        return captured if captured is not None else "".join(self.pieces)

    # --- rows --------------------------------------------------------------------------

    def start_row(self, attrs: dict[str, str]) -> None:
        if self.mode != _OUT:
            self.end_own_text()
            self.outer.append(tuple(getattr(self, name) for name in _OUTER_STATE))
        self.row_reference = attrs.get("r")
        self.cells = self.column = self.skip = 0
        self.texts = []
        self.unordered = self.row_error = None
        self.deferred = False
        self.mode = _IN_ROW

    def end_row(self) -> None:
        # openpyxl reads the row's number, then its cells, then checks it.
        self.last_row = _row_number(self.row_reference, self.last_row)
        if self.row_error is not None:
            raise self.row_error
        self.rows.end_row(
            self.last_row, self.cells, self.texts, self.column, self.unordered, self.deferred
        )
        if not self.outer:
            self.mode = _OUT
            return
        for name, value in zip(_OUTER_STATE, self.outer.pop(), strict=True):
            setattr(self, name, value)
        if self.mode == _IN_ROW and not self.skip:
            # For the outer row, a cell with nothing left in it.
            self.cells += 1
            if self.cells > MAX_ROW_CELLS:
                self.too_many_cells()
            self.cell_column = self.column + 1
            if self.unordered is not None:
                self.unordered[self.cell_column] = ""
            self.column = self.cell_column

    def too_many_cells(self) -> NoReturn:
        number = _row_number_so_far(self.row_reference, self.last_row)
        raise LimitExceeded(
            f"Row {number} has more than {MAX_ROW_CELLS:,} cells; bulkport reads at "
            f"most {self.max_columns:,} columns. Delete the unused columns on the right "
            "and upload again."
        )

    # --- cells -------------------------------------------------------------------------

    def start_cell(self, _name: str, attrs: dict[str, str]) -> None:
        """Any child of a row is a cell, as openpyxl reads it."""
        self.cells += 1
        if self.cells > MAX_ROW_CELLS:
            self.too_many_cells()
        self.kind = attrs.get("t", "n")
        column = self.column
        try:
            reference = attrs.get("r")
            if reference:  # else the column after the previous cell
                letters = reference.rstrip(DIGITS)
                found = COLUMNS.get(letters) if len(letters) != len(reference) else None
                cell_column = found or coordinate_column(reference)
            else:
                cell_column = column + 1
            number_style = attrs.get("s")
            # An empty style is the default one, as Excel reads it.
            self.style = int(number_style) if number_style else 0
        except Exception as exc:  # raised when the row ends, as openpyxl does
            self.row_error = self.row_error or exc
            cell_column = column + 1
        if cell_column <= column and self.unordered is None:
            self.unordered = dict(enumerate(self.texts, 1))
        self.column = self.cell_column = cell_column
        self.value = None
        self.seen_value = self.seen_inline = False
        self.mode = _CELL

    def start_in_cell(self, name: str, attrs: dict[str, str]) -> None:
        """A cell's first ``<v>`` and first ``<is>`` count; anything else is skipped."""
        if name in V and not self.seen_value:
            self.seen_value = True
            self.open_text(_VALUE)
        elif name in IS and not self.seen_inline:
            self.seen_inline = True
            self.plain = self.runs = None
            self.mode = _INLINE
        else:
            self.skip_child(name, attrs)

    def end_cell(self) -> None:
        self.mode = _IN_ROW
        try:
            text = self.finished_cell_text()
        except Exception as exc:  # raised when the row ends, as openpyxl does
            self.row_error = self.row_error or exc
            text = ""
        if self.unordered is not None:
            self.unordered[self.cell_column] = text
        elif text:
            texts = self.texts
            gap = self.cell_column - 1 - len(texts)
            if gap:
                texts.extend([""] * gap)
            texts.append(text)

    def finished_cell_text(self) -> str:
        """The text of the cell ending now."""
        kind = self.kind
        if kind == "inlineStr":
            # Its last <t>, then each rich text run's last <t>.
            if not self.seen_inline:
                return ""
            text = self.plain or ""
            if self.runs:
                text += "".join(self.runs)
            return unescape(text) if "_x" in text else text
        value = self.value
        if kind == "s" and value:
            return self.strings[int(value)]
        text = self.cell_text(kind, value, self.style)
        if text is DEFERRED:
            self.deferred = True
        return text

    def end_value(self) -> None:
        self.value = self.closed_text()
        self.mode = _CELL

    # --- inline strings ----------------------------------------------------------------

    def start_in_inline(self, name: str, attrs: dict[str, str]) -> None:
        """An inline string's ``<t>`` and rich text runs count; anything else is skipped."""
        if name in T or is_text(name):
            self.pieces.clear()
            self.captured = None
            self.mode = _INLINE_TEXT
        elif is_run(name):
            self.run = None
            self.mode = _RUN
        else:
            self.skip_child(name, attrs)

    def start_in_run(self, name: str, attrs: dict[str, str]) -> None:
        if is_text(name):
            self.open_text(_RUN_TEXT)
        else:
            self.skip_child(name, attrs)

    def end_inline_text(self) -> None:
        captured = self.captured
        self.plain = captured if captured is not None else "".join(self.pieces)
        self.mode = _INLINE

    def end_run_text(self) -> None:
        self.run = self.closed_text()
        self.mode = _RUN

    def end_run(self) -> None:
        if self.run:
            if self.runs is None:
                self.runs = []
            self.runs.append(self.run)
        self.mode = _INLINE

    def end_inline(self) -> None:
        self.mode = _CELL


def _ignore(_name: str, _attrs: dict[str, str]) -> None:
    """Elements outside rows are not read."""


def _nothing() -> None:
    """An element outside rows ends."""


def _row_number_so_far(reference: str | None, last_row: int) -> int:
    """A row's number before its end, for a message (openpyxl settles it at the end)."""
    try:
        return _row_number(reference, last_row)
    except ValueError:
        return last_row + 1
