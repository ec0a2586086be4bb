"""Export files written as a stream: CSV that Excel opens in UTF-8, and constant-memory XLSX.

No cell can run as a formula: CSV text that starts like one gets an apostrophe (which the
importer drops again), and XLSX text is always written as a string cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import BinaryIO, Protocol

from bulkport.rules.fields import FIELDS_BY_KEY, FieldKind
from bulkport.spreadsheets.cells import keep_apostrophe, safe_cell
from bulkport.spreadsheets.xlsx.writer import sheet_title


class ExportWriter(Protocol):
    """Writes an export's header and rows; ``close`` finishes the file."""

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows of values in the export's column order."""

    def close(self) -> None:
        """Finish the file (XLSX writes its zip here)."""


def text_of(value: object) -> str:
    """A stored value as the text an export shows (and the importer reads back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class CsvExportWriter:
    """CSV in UTF-8 with a byte-order mark (so Excel shows accents right), comma-separated."""

    def __init__(self, out: BinaryIO, keys: Sequence[str]) -> None:
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._csv.writerow([FIELDS_BY_KEY[key].label for key in keys])

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows; text that a spreadsheet would run is escaped."""
        self._csv.writerows([safe_cell(text_of(v)) for v in row] for row in rows)

    def close(self) -> None:
        """Flush, leaving the underlying file open for its owner."""
        self._text.flush()
        self._text.detach()


# Column widths in characters, by kind of field (XLSX is written before the data is known).
_WIDTHS = {FieldKind.EMAIL: 30, FieldKind.DATE: 12, FieldKind.BOOL: 10, FieldKind.RECORD_ID: 12}
_WIDE = {"notes": 40, "company": 28, "invoice_address1": 28, "shipping_address1": 28}


class XlsxExportWriter:
    """XLSX through xlsxwriter's constant-memory mode: each row goes to disk as it is written.

    Text is always a string cell (never a formula, number or link); dates are real dates;
    ids, phones and postal codes are text so that no digit is lost.
    """

    def __init__(self, out: BinaryIO, keys: Sequence[str], sheet_name: str = "Customers") -> None:
        import xlsxwriter

        self._book = xlsxwriter.Workbook(
            out,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._sheet = self._book.add_worksheet(sheet_title(sheet_name))
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._moment = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        bold = self._book.add_format({"bold": True})
        self._kinds = [FIELDS_BY_KEY[key].kind for key in keys]
        for index, key in enumerate(keys):
            field = FIELDS_BY_KEY[key]
            width = _WIDE.get(key, _WIDTHS.get(field.kind, 18))
            self._sheet.set_column(index, index, max(width, len(field.label) + 2))
            self._sheet.write_string(0, index, field.label, bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def write_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows; each value goes into the cell type that keeps it exact."""
        sheet = self._sheet
        for values in rows:
            for column, value in enumerate(values):
                if value is None or value == "":
                    continue
                if isinstance(value, datetime):
                    moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
                    sheet.write_datetime(self._row, column, moment, self._moment)
                elif isinstance(value, date):
                    sheet.write_datetime(self._row, column, value, self._date)
                else:
                    sheet.write_string(self._row, column, keep_apostrophe(text_of(value)))
            self._row += 1

    def write_prepared_rows(self, rows: Iterable[Sequence[object]]) -> None:
        """Append rows whose values are already what the cells hold: text escaped as
        ``keep_apostrophe`` does, dates, naive UTC moments, or None for an empty cell."""
        sheet, moment, day = self._sheet, self._moment, self._date
        for values in rows:
            row = self._row
            for column, value in enumerate(values):
                if value is None:
                    continue
                if value.__class__ is str:
                    sheet.write_string(row, column, value)
                elif value.__class__ is datetime:
                    sheet.write_datetime(row, column, value, moment)
                else:
                    sheet.write_datetime(row, column, value, day)
            self._row = row + 1

    def close(self) -> None:
        """Write the workbook's zip into the output."""
        self._book.close()
