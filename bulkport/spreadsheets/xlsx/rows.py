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

from bulkport.errors import BulkportError, LimitExceeded, UnreadableFile
from bulkport.limits import ReadLimits
from bulkport.spreadsheets.xlsx import safexml
from bulkport.spreadsheets.xlsx.coordinates import (
    COLUMNS,
    DIGITS,
    column_letter,
    coordinate_column,
)
from bulkport.spreadsheets.xlsx.names import IS, ROW, T, V, known_names
from bulkport.spreadsheets.xlsx.names import R as RUN
from bulkport.spreadsheets.xlsx.package import Book, Package
from bulkport.spreadsheets.xlsx.refusals import DAMAGED, ENTITIES, SAVE_AGAIN, damaged_after
from bulkport.spreadsheets.xlsx.safexml import local
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
    reader = _SheetReader(book, limits)
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
        if row_number < self.expected:
            return  # a row numbered at or below one already read is skipped
        if row_number > EXCEL_ROWS:
            # No spreadsheet program writes one; a reader walking every row number up to
            # it would be busy for days.
            raise UnreadableFile(
                f"This workbook has rows past Excel's last row ({EXCEL_ROWS:,}); no "
                "spreadsheet program writes such a file. " + SAVE_AGAIN
            )
        number = self.number = row_number
        self.expected = row_number + 1
        if not cells:
            return
        self.seen += 1
        if self.seen > self.max_rows:
            raise LimitExceeded(
                f"The sheet has more than {self.max_rows:,} rows, more than bulkport "
                "imports at once. Split the customer list into smaller files."
            )
        if unordered is not None:
            # A row is as wide as its last cell; a later cell replaces an earlier one.
            texts = [unordered.get(position, "") for position in range(1, last_column + 1)]
            while texts and not texts[-1]:
                texts.pop()
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
        if not texts:
            self.pending_blank.append(number)
            return
        if self.pending_blank:
            self.out.extend((blank, []) for blank in self.pending_blank)
            self.pending_blank.clear()
        self.out.append((number, texts))


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


def _too_many_cells(number: int, max_columns: int) -> NoReturn:
    raise LimitExceeded(
        f"Row {number} has more than {MAX_ROW_CELLS:,} cells; bulkport reads at most "
        f"{max_columns:,} columns. Delete the unused columns on the right and upload again."
    )


def _refusal(failure: Exception, number: int) -> BulkportError:
    """What a failure while streaming rows tells the person who uploaded the file."""
    if isinstance(failure, BulkportError):
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


class _SheetReader:
    """The expat handlers of one sheet and the state they share.

    The handlers are closures over local variables (the fastest state CPython offers), so
    they are built in ``__init__``; ``feed`` parses a chunk, leaving the rows it completed
    in ``rows.out``.

    Like openpyxl, a row counts wherever it is, even inside another row or cell (the outer
    one's state is kept on a stack meanwhile); a row's number is settled at its end (a row
    without ``r`` follows the row that ended last); and a row directly inside a row is, for
    the outer row, an empty cell (openpyxl has cleared it by then).
    """

    def __init__(self, book: Book, limits: ReadLimits) -> None:
        rows = self.rows = _Rows(limits)
        texts_of = CellTexts(book.strings, book.styles, book.epoch)
        strings = texts_of.strings
        cell_text = texts_of.text
        max_columns = limits.max_columns
        columns = COLUMNS
        digits = DIGITS
        row_names, value_names, inline_names, t_names, r_names = ROW, V, IS, T, RUN
        parser = safexml.parser(known_names())
        pieces: list[str] = []  # character data, kept while a value or a text is open
        outer: list[tuple[Any, ...]] = []  # the state of rows around a nested one

        mode = _OUT
        skip = 0  # depth inside an element whose content does not count
        captured: str | None = None  # a text ended early by a child element
        last_row = 0  # the number of the row that ended last
        # The row being read.
        row_reference: str | None = None
        cells = 0
        texts: list[str] = []
        column = 0  # the last cell's column
        unordered: dict[int, str] | None = None  # cells by column once out of order
        deferred = False
        row_error: Exception | None = None  # a cell openpyxl fails on, when the row ends
        # The cell being read.
        kind = "n"
        style = 0
        cell_column = 0
        value: str | None = None
        seen_value = seen_inline = False
        plain: str | None = None
        run: str | None = None
        runs: list[str] | None = None

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal mode, skip, captured, kind, style, cell_column, value, seen_value
            nonlocal seen_inline, plain, run, runs, cells, column, unordered, row_error
            if mode == _IN_ROW and not skip and name not in row_names:
                # Any child of a row is a cell, as openpyxl reads it.
                cells += 1
                if cells > MAX_ROW_CELLS:
                    _too_many_cells(_row_number_so_far(row_reference, last_row), max_columns)
                kind = attrs.get("t", "n")
                reference = attrs.get("r")
                number_style = attrs.get("s")
                try:
                    if reference:
                        letters = reference.rstrip(digits)
                        found = columns.get(letters) if len(letters) != len(reference) else None
                        cell_column = found or coordinate_column(reference)
                    else:
                        cell_column = column + 1
                    # An empty style is the default one, as Excel reads it.
                    style = int(number_style) if number_style else 0
                except Exception as exc:  # raised when the row ends, as openpyxl does
                    row_error = row_error or exc
                    cell_column = column + 1
                if cell_column <= column and unordered is None:
                    unordered = dict(enumerate(texts, 1))
                column = cell_column
                value = None
                seen_value = seen_inline = False
                mode = _CELL
            elif mode == _CELL and not skip and name in value_names and not seen_value:
                seen_value = True
                pieces.clear()
                captured = None
                mode = _VALUE
            elif mode == _CELL and not skip and name in inline_names and not seen_inline:
                seen_inline = True
                plain = runs = None
                mode = _INLINE
            elif mode == _INLINE and not skip and (name in t_names or local(name) == "t"):
                pieces.clear()
                captured = None
                mode = _INLINE_TEXT
            elif name in row_names:
                start_row(attrs)
            elif skip:
                skip += 1
            elif mode == _INLINE and (name in r_names or local(name) == "r"):
                run = None
                mode = _RUN
            elif mode == _RUN and (name in t_names or local(name) == "t"):
                pieces.clear()
                captured = None
                mode = _RUN_TEXT
            elif mode != _OUT:
                if mode in _TEXTS and captured is None:
                    # A child inside a value or a text ends that element's own text
                    # (openpyxl reads ``element.text``).
                    captured = "".join(pieces)
                skip = 1  # the child's content does not count

        def start_row(attrs: dict[str, str]) -> None:
            nonlocal mode, skip, captured, row_reference, cells, texts, column, unordered
            nonlocal deferred, row_error
            if mode != _OUT:
                if mode in _TEXTS and captured is None:
                    captured = "".join(pieces)
                outer.append(
                    (mode, skip, captured, row_reference, cells, texts, column, unordered,
                     deferred, row_error, kind, style, cell_column, value, seen_value,
                     seen_inline, plain, run, runs)
                )  # fmt: skip
            row_reference = attrs.get("r")
            cells = column = skip = 0
            texts = []
            unordered = row_error = None
            deferred = False
            mode = _IN_ROW

        def end_row() -> None:
            nonlocal mode, skip, captured, row_reference, cells, texts, column, unordered
            nonlocal deferred, row_error, kind, style, cell_column, value, seen_value
            nonlocal seen_inline, plain, run, runs, last_row
            # openpyxl reads the row's number, then its cells, then checks it.
            last_row = _row_number(row_reference, last_row)
            if row_error is not None:
                raise row_error
            rows.end_row(last_row, cells, texts, column, unordered, deferred)
            if not outer:
                mode = _OUT
                return
            (mode, skip, captured, row_reference, cells, texts, column, unordered, deferred,
             row_error, kind, style, cell_column, value, seen_value, seen_inline, plain, run,
             runs) = outer.pop()  # fmt: skip
            if mode == _IN_ROW and not skip:
                # For the outer row, a cell with nothing left in it.
                cells += 1
                if cells > MAX_ROW_CELLS:
                    _too_many_cells(_row_number_so_far(row_reference, last_row), max_columns)
                cell_column = column + 1
                if unordered is not None:
                    unordered[cell_column] = ""
                column = cell_column

        def end(_name: str) -> None:
            nonlocal mode, skip, value, plain, run, runs, deferred, row_error
            if skip:
                skip -= 1
            elif mode == _CELL:
                mode = _IN_ROW
                try:
                    if kind == "inlineStr":
                        if seen_inline:
                            text = plain or ""
                            if runs:
                                text += "".join(runs)
                            if "_x" in text:
                                text = unescape(text)
                        else:
                            text = ""
                    elif kind == "s" and value:
                        text = strings[int(value)]
                    else:
                        text = cell_text(kind, value, style)
                        if text is DEFERRED:
                            deferred = True
                except Exception as exc:  # raised when the row ends, as openpyxl does
                    row_error = row_error or exc
                    text = ""
                if unordered is not None:
                    unordered[cell_column] = text
                elif text:
                    gap = cell_column - 1 - len(texts)
                    if gap:
                        texts.extend([""] * gap)
                    texts.append(text)
            elif mode == _VALUE:
                value = captured if captured is not None else "".join(pieces)
                mode = _CELL
            elif mode == _INLINE_TEXT:
                plain = captured if captured is not None else "".join(pieces)
                mode = _INLINE
            elif mode == _INLINE:
                mode = _CELL
            elif mode == _IN_ROW:
                end_row()
            elif mode == _RUN:
                if run:
                    if runs is None:
                        runs = []
                    runs.append(run)
                mode = _INLINE
            elif mode == _RUN_TEXT:
                run = captured if captured is not None else "".join(pieces)
                mode = _RUN

        def feed(chunk: bytes) -> None:
            parser.Parse(chunk, False)
            if mode not in _TEXTS or captured is not None:
                pieces.clear()  # character data outside a value or text is never kept

        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = pieces.append
        self.feed = feed
        self.finish: Callable[[], object] = lambda: parser.Parse(b"", True)


def _row_number_so_far(reference: str | None, last_row: int) -> int:
    """A row's number before its end, for a message (openpyxl settles it at the end)."""
    try:
        return _row_number(reference, last_row)
    except ValueError:
        return last_row + 1
