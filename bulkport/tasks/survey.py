"""The first look at an upload: its format, header, mapping, row count and date order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from bulkport.read_limits import ReadLimits
from bulkport.rules.dates import DateOrder, DateOrderVotes
from bulkport.rules.fields import FIELDS_BY_KEY, FieldKind
from bulkport.schemas.jobs import ImportOptions
from bulkport.schemas.row_ranges import RowRanges
from bulkport.spreadsheets.mapping import (
    ColumnMapping,
    guess_mapping,
    header_score,
    resolve_override,
)
from bulkport.spreadsheets.sources import ReadOptions, Rows, Sheet, SheetInfo, open_sheet
from bulkport.spreadsheets.spill import RowSpill

# Rows the survey reads before it hands them to the spill together.
SPILL_CHUNK = 1000


@dataclass(frozen=True)
class Survey:
    """What one pass over the file found; the job then reads the file the same way again."""

    info: SheetInfo
    mapping: ColumnMapping
    total: int
    date_order: DateOrder

    def source(self) -> dict[str, Any]:
        """What the job records and shows about its file."""
        return {
            "format": self.info.format.value,
            "encoding": self.info.encoding,
            "delimiter": self.info.delimiter,
            "sheet": self.info.sheet_name,
            "sheet_names": self.info.sheet_names,
            "header_row": self.info.header_row,
            "date_order": self.date_order.value,
        }


def override_of(options: ImportOptions) -> dict[str, str | None]:
    """The person's mapping, checked (raises ``ValueError`` for a target that is no field)."""
    return resolve_override(options.mapping) if options.mapping else {}


@contextmanager
def open_upload(
    path: Path,
    options: ImportOptions,
    limits: ReadLimits,
    info: SheetInfo | None = None,
) -> Iterator[tuple[Sheet, ColumnMapping]]:
    """Open the upload as the options say (or exactly as a survey found it) and map it."""
    override = override_of(options)
    read = ReadOptions(
        encoding=options.encoding, delimiter=options.delimiter,
        sheet=options.sheet, header_row=options.header_row,
    )  # fmt: skip
    if info is not None:
        read = ReadOptions(
            encoding=info.encoding, delimiter=info.delimiter,
            sheet=info.sheet_name, header_row=info.header_row,
        )  # fmt: skip
    with open_sheet(path, header_score(override), read, limits) as sheet:
        yield sheet, guess_mapping(sheet.header, override)


def chosen_rows(options: ImportOptions, rows: Rows) -> Rows:
    """The data rows the job imports: those ``only_rows`` names, else all of them."""
    return RowRanges.parse(options.only_rows).select(rows) if options.only_rows else rows


def date_columns(mapping: ColumnMapping) -> list[int]:
    """The indexes of the columns that hold dates."""
    return [i for i, key in mapping.columns.items() if FIELDS_BY_KEY[key].kind is FieldKind.DATE]


def vote(votes: DateOrderVotes, cells: list[str], columns: list[int]) -> None:
    """Let a row's date cells tell whether the file writes the day or the month first."""
    for index in columns:
        if index < len(cells) and cells[index]:
            votes.add(cells[index])


def survey(
    path: Path,
    options: ImportOptions,
    store_date_order: DateOrder,
    limits: ReadLimits,
    spill: RowSpill | None = None,
) -> Survey:
    """Read the whole file once: every unreadable row fails here, before anything is written.

    The rows read go to ``spill``, when given, so that the job need not read the file again.
    Any failure fails the survey (the rows read before it are not used).
    """
    with open_upload(path, options, limits) as (sheet, mapping):
        columns = date_columns(mapping)
        votes = DateOrderVotes()
        total = 0
        rows = chosen_rows(options, sheet.rows)
        while chunk := list(islice(rows, SPILL_CHUNK)):
            total += len(chunk)
            for _, cells in chunk:
                vote(votes, cells, columns)
            if spill is not None:
                spill.keep(chunk)
        info = sheet.info
    order = options.date_order or votes.decide(store_date_order)
    return Survey(info=info, mapping=mapping, total=total, date_order=order)
