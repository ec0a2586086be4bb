"""Reading CSV uploads: dialect, encoding, header row and the spreadsheet row numbers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bulkport.errors import BulkportError, LimitExceeded
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.csvfile import CsvFormat, read_csv_rows, write_csv_rows
from bulkport.spreadsheets.mapping import header_score
from bulkport.spreadsheets.sources import open_sheet

Rows = list[tuple[int, list[str]]]


def upload(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def read(path: Path) -> tuple[CsvFormat, list[str], int, Rows]:
    """Everything opening the file gives, the rows read to the end."""
    with open_sheet(path, header_score({})) as sheet:
        return sheet.info.csv_format, sheet.header, sheet.info.header_row, list(sheet.rows)


def refusal(path: Path) -> str:
    """The message of the file-level error that reading the whole file raises."""
    with pytest.raises(BulkportError) as caught, open_sheet(path, header_score({})) as sheet:
        list(sheet.rows)
    return str(caught.value)


def assert_plain(message: str) -> None:
    """Words for a store employee: no Python codec or byte talk."""
    for jargon in ("codec", "0x", "\\x", "position", "byte 0", "Error"):
        assert jargon not in message, message


# --- dialect --------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_found_from_the_header(tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    path = upload(tmp_path, f"First Name{d}Email{d}Phone\r\nAnn{d}ann@example.com{d}0612\r\n")
    fmt, header, header_row, rows = read(path)
    assert fmt == CsvFormat(encoding="utf-8", delimiter=delimiter)
    assert header == ["First Name", "Email", "Phone"]
    assert header_row == 1
    assert rows == [(2, ["Ann", "ann@example.com", "0612"])]


def test_other_delimiters_inside_cells_do_not_split_them(tmp_path: Path) -> None:
    path = upload(tmp_path, "First Name;Notes\r\nAnn;calls, mostly | often\r\n")
    fmt, _, _, rows = read(path)
    assert fmt.delimiter == ";"
    assert rows == [(2, ["Ann", "calls, mostly | often"])]


def test_a_header_line_without_any_delimiter_is_one_comma_column(tmp_path: Path) -> None:
    fmt, header, _, rows = read(upload(tmp_path, "Email\nann@example.com\n"))
    assert fmt.delimiter == ","
    assert header == ["Email"]
    assert rows == [(2, ["ann@example.com"])]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_any_line_ending_is_read(tmp_path: Path, newline: str) -> None:
    path = upload(tmp_path, newline.join(["First Name,Email", "Ann,a@x.com", "Bob,b@x.com", ""]))
    _, header, _, rows = read(path)
    assert header == ["First Name", "Email"]
    assert rows == [(2, ["Ann", "a@x.com"]), (3, ["Bob", "b@x.com"])]


def test_header_cells_are_trimmed(tmp_path: Path) -> None:
    _, header, _, _ = read(upload(tmp_path, " First Name , Email \nAnn,a@x.com\n"))
    assert header == ["First Name", "Email"]


# --- encoding -------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = upload(tmp_path, "\ufeffFirst Name;Email\r\nRené;rene@example.com\r\n".encode())
    fmt, header, _, rows = read(path)
    assert fmt == CsvFormat(encoding="utf-8-sig", delimiter=";")
    assert header == ["First Name", "Email"]
    assert rows == [(2, ["René", "rene@example.com"])]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path, codec: str) -> None:
    path = upload(tmp_path, "\ufeffPrénom\tEmail\r\nRené\trene@example.com\r\n".encode(codec))
    fmt, header, _, rows = read(path)
    assert fmt == CsvFormat(encoding="utf-16", delimiter="\t")
    assert header == ["Prénom", "Email"]
    assert rows == [(2, ["René", "rene@example.com"])]


@pytest.mark.parametrize(
    ("content", "header", "first"),
    [
        (b"Pr\xe9nom,Email\r\nRen\xe9,rene@example.com\r\n", "Prénom", "René"),
        (b"First Name,Email\r\nRen\xe9,rene@example.com\r\n", "First Name", "René"),
        (b"First Name,Email\r\n\x93Ann\x94,a@x.com\r\n", "First Name", "\u201cAnn\u201d"),
    ],
    ids=["header", "data-row", "curly-quotes"],
)
def test_text_excel_saved_on_windows_is_read_as_windows_1252(
    tmp_path: Path, content: bytes, header: str, first: str
) -> None:
    fmt, headers, _, rows = read(upload(tmp_path, content))
    assert fmt.encoding == "cp1252"
    assert headers[0] == header
    assert rows[0][1][0] == first


@pytest.mark.parametrize(
    "content",
    [
        b"First Name,Email\r\nAnn,\x81\x8d\r\n",
        b"Pr\x90nom,Email\r\nAnn,a@x.com\r\n",
    ],
    ids=["data-row", "header"],
)
def test_text_that_is_neither_utf8_nor_windows_is_refused_in_plain_words(
    tmp_path: Path, content: bytes
) -> None:
    message = refusal(upload(tmp_path, content))
    assert "CSV UTF-8" in message
    assert_plain(message)


def test_text_that_is_not_text_far_into_a_file_is_refused_at_its_line(tmp_path: Path) -> None:
    lines = [b"First Name,Email"] + [f"n{i},n{i}@example.com".encode() for i in range(2, 2001)]
    bad_row = 1500
    lines[bad_row - 1] = b"Ren\x81,rene@example.com"
    message = refusal(upload(tmp_path, b"\r\n".join(lines) + b"\r\n"))
    assert "CSV UTF-8" in message
    assert_plain(message)
    assert message.startswith(f"Line {bad_row} ")


# --- quoting and row numbers ----------------------------------------------------------------


def test_quoted_cells_keep_delimiters_quotes_and_line_breaks(tmp_path: Path) -> None:
    path = upload(
        tmp_path,
        'Last Name,Notes,Email\r\n"Smith, Jr.","She said ""call me""","a@x.com"\r\n'
        '"Jones","line one\r\nline two\nline three",b@x.com\r\n',
    )
    _, _, _, rows = read(path)
    assert rows == [
        (2, ["Smith, Jr.", 'She said "call me"', "a@x.com"]),
        (3, ["Jones", "line one\r\nline two\nline three", "b@x.com"]),
    ]


def test_a_record_over_several_lines_is_one_spreadsheet_row(tmp_path: Path) -> None:
    path = upload(
        tmp_path,
        'First Name,Notes\n"Ann","first\nsecond\nthird"\nBob,short\n"Cy","a\n\nb"\nDee,end\n',
    )
    _, _, _, rows = read(path)
    assert [(number, cells[0]) for number, cells in rows] == [
        (2, "Ann"),
        (3, "Bob"),
        (4, "Cy"),
        (5, "Dee"),
    ]


def test_blank_lines_count_as_spreadsheet_rows(tmp_path: Path) -> None:
    path = upload(tmp_path, "First Name,Email\r\nAnn,a@x.com\r\n\r\n\r\nBob,b@x.com\r\n")
    _, _, _, rows = read(path)
    filled = [(number, cells) for number, cells in rows if any(cells)]
    assert filled == [(2, ["Ann", "a@x.com"]), (5, ["Bob", "b@x.com"])]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_header_is_found_below_leading_blank_lines(tmp_path: Path, delimiter: str) -> None:
    d = delimiter
    path = upload(tmp_path, f"\r\n\r\nFirst Name{d}Email\r\nAnn{d}a@x.com\r\n")
    fmt, header, header_row, rows = read(path)
    assert fmt.delimiter == delimiter
    assert header == ["First Name", "Email"]
    assert header_row == 3
    assert rows == [(4, ["Ann", "a@x.com"])]


def test_the_header_is_found_below_rows_of_empty_cells(tmp_path: Path) -> None:
    path = upload(tmp_path, ";;\r\n ; ; \r\nFirst Name;Email;Phone\r\nAnn;a@x.com;06\r\n")
    _, header, header_row, rows = read(path)
    assert header == ["First Name", "Email", "Phone"]
    assert header_row == 3
    assert rows == [(4, ["Ann", "a@x.com", "06"])]


# --- files that are not CSV text ------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"\r\n\r\n\r\n", b"  \n\t\n", b",,,\r\n,,\r\n", b"\xef\xbb\xbf"],
    ids=["nothing", "blank-lines", "whitespace", "empty-cells", "bom-only"],
)
def test_an_empty_file_is_unreadable(tmp_path: Path, content: bytes) -> None:
    message = refusal(upload(tmp_path, content))
    assert "empty" in message
    assert_plain(message)


def test_nul_bytes_in_the_header_make_the_file_unreadable(tmp_path: Path) -> None:
    message = refusal(upload(tmp_path, b"First\x00Name,Email\r\nAnn,a@x.com\r\n"))
    assert "not a text spreadsheet" in message


def test_nul_bytes_in_a_data_row_make_the_file_unreadable_at_that_row(tmp_path: Path) -> None:
    # Past the first bytes, which are checked for binary data before any row is read.
    rows = b"Ann,a@x.com\r\n" * 1000
    path = upload(tmp_path, b"First Name,Email\r\n" + rows + b"B\x00b,b@x.com\r\n")
    message = refusal(path)
    assert message.startswith("Row 1002 ")
    assert "NUL" in message


def test_nul_bytes_in_a_header_below_a_blank_line_make_the_file_unreadable(
    tmp_path: Path,
) -> None:
    refusal(upload(tmp_path, b"\r\nFirst\x00Name,Email\r\nAnn,a@x.com\r\n"))


def test_an_oversized_cell_is_refused_at_its_row_in_plain_words(tmp_path: Path) -> None:
    path = upload(tmp_path, b"First Name,Notes\r\nAnn,ok\r\nBob," + b"x" * (2 << 20) + b"\r\n")
    message = refusal(path)
    assert message.startswith("Row 3 ")
    assert "field limit" not in message  # the csv module's words, not the person's


def test_a_cell_is_refused_for_its_own_length_not_its_rows(tmp_path: Path) -> None:
    """Rows longer in all than a cell may be pass when no one cell is."""
    limits = ReadLimits(max_cell_chars=5)
    fmt = CsvFormat("utf-8", ",")
    wide = upload(tmp_path, "a,b,c\r\nabcde,fghij,klmno\r\n12345,,x\r\n")
    assert list(read_csv_rows(wide, fmt, limits)) == [
        (1, ["a", "b", "c"]),
        (2, ["abcde", "fghij", "klmno"]),
        (3, ["12345", "", "x"]),
    ]
    long = upload(tmp_path, "a,b\r\nab,cd\r\nabcde,abcdef\r\n")
    with pytest.raises(LimitExceeded, match=r"^Row 3 has a cell of 6 characters; at most 5 "):
        list(read_csv_rows(long, fmt, limits))


# --- writing --------------------------------------------------------------------------------

TRICKY_ROWS = [
    ["First Name", "Notes", "Email"],
    ["Ann", 'says "hi", then; leaves | now', "ann@example.com"],
    ["René", "line one\r\nline two", ""],
    ["", "", "bob@example.com"],
    ["Zoë", "\ttabbed", "zoe@example.com"],
]


@pytest.mark.parametrize(
    "fmt",
    [
        CsvFormat("utf-8", ","),
        CsvFormat("utf-8-sig", ";"),
        CsvFormat("utf-16", "\t"),
        CsvFormat("utf-8", "|"),
    ],
    ids=["utf8-comma", "utf8bom-semicolon", "utf16-tab", "utf8-pipe"],
)
def test_written_rows_read_back_unchanged_in_the_same_format(
    tmp_path: Path, fmt: CsvFormat
) -> None:
    path = tmp_path / "report.csv"
    with path.open("wb") as out:
        write_csv_rows(out, fmt, iter(TRICKY_ROWS))
    read_fmt, header, header_row, rows = read(path)
    assert read_fmt == fmt
    assert header == TRICKY_ROWS[0]
    assert header_row == 1
    assert rows == list(enumerate(TRICKY_ROWS[1:], start=2))


def test_writing_leaves_the_output_open_for_more() -> None:
    out = io.BytesIO()
    write_csv_rows(out, CsvFormat("utf-8", ","), iter([["a", "b"]]))
    assert not out.closed
    out.write(b"more")
    assert out.getvalue() == b"a,b\r\nmore"


# --- reading in blocks ------------------------------------------------------------------------


def _awkward_rows() -> list[list[str]]:
    """Cells a block boundary could cut badly: multi-line quoted notes, CR alone, U+2028,
    accents (multi-byte UTF-8), quotes, a line longer than the smallest blocks."""
    return [
        ["First Name", "Email", "Notes"],
        *(
            [f"Zoë\u2028{i}\x0c", f"z{i}@example.com", f'line one\nline "two"\r\n{i}\u2028end\rx']
            for i in range(40)
        ),
        ["Long", "long@example.com", "é" * 300],
        ["Last", "last@example.com", ""],
    ]


@pytest.mark.parametrize("block", [1, 7, 64, 1024 * 1024])
def test_rows_are_the_same_whatever_the_block_size(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    from bulkport.spreadsheets import csvfile

    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(_awkward_rows())
    text = buffer.getvalue()
    expected = list(csv.reader(io.StringIO(text, newline=""), strict=False))
    path = upload(tmp_path, text.encode())
    monkeypatch.setattr(csvfile, "_CHUNK", block)
    rows = list(csvfile.read_csv_rows(path, CsvFormat("utf-8", ",")))
    assert [cells for _, cells in rows] == expected
    assert [number for number, _ in rows] == list(range(1, len(expected) + 1))


@pytest.mark.parametrize("block", [5, 1000])
def test_a_bad_line_in_a_later_block_is_refused_at_its_own_row(
    tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulkport.spreadsheets import csvfile

    lines = [b"First Name,Email"] + [f"n{i},n{i}@example.com".encode() for i in range(2, 400)]
    lines[299] = b"Ren\xe9,rene@example.com"  # row 300: Windows text in a UTF-8 file
    lines[349] = b"B\x00b,b@example.com"
    path = upload(tmp_path, b"\r\n".join(lines) + b"\r\n")
    monkeypatch.setattr(csvfile, "_CHUNK", block)
    with pytest.raises(BulkportError) as caught:
        list(csvfile.read_csv_rows(path, CsvFormat("utf-8", ",")))
    assert str(caught.value).startswith("Row 300 ")
    lines[299] = b"Rene,rene@example.com"
    path = upload(tmp_path, b"\r\n".join(lines) + b"\r\n")
    with pytest.raises(BulkportError) as caught:
        list(csvfile.read_csv_rows(path, CsvFormat("utf-8", ",")))
    assert str(caught.value).startswith("Row 350 ")
    assert "NUL" in str(caught.value)
