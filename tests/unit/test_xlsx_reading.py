"""Reading XLSX uploads: rows with their Excel row numbers, cells as people see them, refusals."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.styles import Font
from xlsx_parts import patch_directory
from xlsx_reference import assert_reads_as_before

from bulkport.errors import BulkportError, LimitExceeded, UnreadableFile
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.xlsx.package import check_inflated, check_zip
from bulkport.spreadsheets.xlsx.reader import XlsxRows, open_xlsx
from bulkport.spreadsheets.xlsx.refusals import DAMAGED
from bulkport.spreadsheets.xlsx.values import value_text

Rows = list[tuple[int, list[str]]]
SHEET = "xl/worksheets/sheet1.xml"
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- building workbooks ---------------------------------------------------------------------


def workbook(
    tmp_path: Path,
    cells: dict[str, object] | None = None,
    *,
    setup: Callable[[Any], None] | None = None,
    name: str = "customers.xlsx",
) -> Path:
    """A workbook made with openpyxl: ``cells`` by coordinate, ``setup`` for anything else."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    for coordinate, value in (cells or {}).items():
        sheet[coordinate] = value
    if setup is not None:
        setup(book)
    path = tmp_path / name
    book.save(path)
    return path


def rewrite_parts(path: Path, changes: dict[str, Callable[[bytes], bytes] | bytes]) -> None:
    """Rewrite (or add) parts of the zip, as another program would have written them."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    for part, change in changes.items():
        parts[part] = change if isinstance(change, bytes) else change(parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for part, content in parts.items():
            new.writestr(part, content)


def sub(pattern: str, replacement: str) -> Callable[[bytes], bytes]:
    """A part change that must match: a helper that changes nothing would prove nothing."""

    def change(xml: bytes) -> bytes:
        text, count = re.subn(pattern, replacement, xml.decode())
        assert count, f"{pattern!r} not found in {xml.decode()[:300]}"
        return text.encode()

    return change


def with_shared_strings(path: Path, strings_xml: str) -> None:
    """Add a shared strings part, where Excel keeps the text of its cells."""
    rewrite_parts(
        path,
        {
            "xl/sharedStrings.xml": strings_xml.encode(),
            "[Content_Types].xml": sub(
                "</Types>",
                f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
                "</Types>",
            ),
        },
    )


def read(path: Path, **options: Any) -> Rows:
    """Every row open_xlsx yields (exactly what the former openpyxl reader yielded)."""
    assert_reads_as_before(path, **options)
    with open_xlsx(path, **options) as sheet:
        return list(sheet.rows)


def opened(path: Path, **options: Any) -> tuple[XlsxRows, Rows]:
    assert_reads_as_before(path, **options)
    with open_xlsx(path, **options) as sheet:
        return sheet, list(sheet.rows)


def refusal(path: Path, error: type[BulkportError] = UnreadableFile, **options: Any) -> str:
    """The message of the error that opening and reading the whole file raises (the same
    as the former openpyxl reader's)."""
    assert_reads_as_before(path, **options)
    with pytest.raises(error) as caught, open_xlsx(path, **options) as sheet:
        list(sheet.rows)
    return str(caught.value)


def assert_plain(message: str) -> None:
    """Words for a store employee: no Python, zip or XML talk."""
    for jargon in ("Error", "zipfile", "0x", "\\x", "<", "openpyxl", "xml", "Traceback"):
        assert jargon not in message, message


# --- rows and row numbers -------------------------------------------------------------------


def test_title_rows_above_the_header_keep_their_row_numbers(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        {
            "A1": "Customer export",
            "A3": "First Name",
            "B3": "Email",
            "A4": "Ann",
            "B4": "ann@example.com",
            "A5": "Bob",
        },
    )
    assert read(path) == [
        (1, ["Customer export"]),
        (3, ["First Name", "Email"]),
        (4, ["Ann", "ann@example.com"]),
        (5, ["Bob"]),
    ]


def test_gaps_between_cells_are_filled_and_trailing_empty_cells_trimmed(tmp_path: Path) -> None:
    def styled_empty_cells(book: Any) -> None:
        for column in ("E", "F", "Z"):
            book.active[f"{column}1"].font = Font(bold=True)

    path = workbook(tmp_path, {"A1": "Ann", "C1": "Smith", "D1": ""}, setup=styled_empty_cells)
    assert read(path) == [(1, ["Ann", "", "Smith"])]


def test_blank_rows_inside_the_data_are_yielded_but_trailing_ones_are_not(tmp_path: Path) -> None:
    def styled_blank_rows(book: Any) -> None:
        for row in (3, 5, 6, 40):
            book.active.cell(row=row, column=1).font = Font(bold=True)

    path = workbook(tmp_path, {"A1": "Name", "A2": "Ann", "A4": "Bob"}, setup=styled_blank_rows)
    assert read(path) == [(1, ["Name"]), (2, ["Ann"]), (3, []), (4, ["Bob"])]


def test_an_empty_sheet_yields_no_rows(tmp_path: Path) -> None:
    assert read(workbook(tmp_path)) == []


def test_an_inflated_dimension_costs_nothing(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Name", "B1": "Email", "A2": "Ann", "B2": "ann@example.com"})
    rewrite_parts(path, {SHEET: sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"')})
    assert read(path) == [(1, ["Name", "Email"]), (2, ["Ann", "ann@example.com"])]
    tracemalloc.start()
    try:
        with open_xlsx(path) as sheet:
            list(sheet.rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Believed, the dimension would pad every row to 16,384 cells (and 17 billion in all).
    assert peak < 2 * 1024 * 1024, f"{peak:,} bytes"


def test_a_row_numbered_past_excels_last_row_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Name", "A2": "Ann"})
    # Read as given, the reader would walk every row number up to this one.
    rewrite_parts(path, {SHEET: sub(r'<row r="2"><c r="A2"', '<row r="3000000"><c r="A3000000"')})
    message = refusal(path)
    assert "1,048,576" in message
    assert_plain(message)


# --- cell values ----------------------------------------------------------------------------


def test_dates_come_out_in_iso_form(tmp_path: Path) -> None:
    def date_formatted_numbers(book: Any) -> None:
        sheet = book.active
        sheet["E1"] = 45356  # Excel's serial number for 5 March 2024
        sheet["E1"].number_format = "dd/mm/yyyy"
        sheet["F1"] = 45356.75
        sheet["F1"].number_format = "d-m-yy h:mm"

    path = workbook(
        tmp_path,
        {
            "A1": dt.datetime(1984, 2, 29),
            "B1": dt.datetime(2024, 3, 5, 14, 30, 15),
            "C1": dt.date(1990, 12, 31),
            "D1": dt.time(9, 5),
        },
        setup=date_formatted_numbers,
    )
    assert read(path) == [
        (
            1,
            [
                "1984-02-29",
                "2024-03-05T14:30:15",
                "1990-12-31",
                "09:05:00",
                "2024-03-05",
                "2024-03-05T18:00:00",
            ],
        )
    ]


def test_numeric_phones_postal_codes_and_ids_come_out_as_digits(tmp_path: Path) -> None:
    def zero_padded_postal_code(book: Any) -> None:
        book.active["C1"] = 1234
        book.active["C1"].number_format = "00000"

    path = workbook(
        tmp_path,
        {"A1": 31612345601, "B1": 123456789012, "D1": 12.5, "E1": True, "F1": False},
        setup=zero_padded_postal_code,
    )
    # Excel writes a phone number it took as a number in exponent form.
    rewrite_parts(path, {SHEET: sub(r"<v>31612345601</v>", "<v>3.1612345601E10</v>")})
    assert read(path) == [(1, ["31612345601", "123456789012", "01234", "12.5", "TRUE", "FALSE"])]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (31612345601.0, "31612345601"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (1e-7, "0.0000001"),
        (2.5e20, "250000000000000000000"),
        (123456789012345678, "123456789012345678"),
        (dt.timedelta(hours=26, minutes=30), "26:30:00"),
        ("#N/A", "#N/A"),
        ("a_x000D_\nb", "a\r\nb"),
        ("_x005F_x0041_", "_x0041_"),
        (None, ""),
    ],
)
def test_values_are_written_as_a_person_reads_them(value: object, text: str) -> None:
    assert value_text(value) == text


def test_text_in_shared_strings_is_read(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"B1": 7})
    with_shared_strings(
        path,
        f'<sst xmlns="{MAIN_NS}" count="2" uniqueCount="2">'
        "<si><t>Ann</t></si><si><t>line one_x000D_\nline two</t></si></sst>",
    )
    rewrite_parts(path, {SHEET: sub(r"<row r=\"1\">", '<row r="1"><c r="A1" t="s"><v>0</v></c>')})
    rewrite_parts(path, {SHEET: sub(r"</row>", '<c r="C1" t="s"><v>1</v></c></row>')})
    assert read(path) == [(1, ["Ann", "7", "line one\r\nline two"])]


def test_formulas_yield_their_cached_values(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        {"A1": "=1+1", "B1": '="x"&"y"', "C1": "=NA()", "D1": "=A1*2", "E1": "end"},
    )
    # openpyxl computes nothing; write the results Excel would have stored with each formula.
    for cached in (
        sub(r'<c r="A1"><f>1\+1</f><v\s*/>', '<c r="A1"><f>1+1</f><v>2</v>'),
        sub(r'<c r="B1"><f>(.*?)</f><v\s*/>', r'<c r="B1" t="str"><f>\1</f><v>xy</v>'),
        sub(r'<c r="C1"><f>NA\(\)</f><v\s*/>', '<c r="C1" t="e"><f>NA()</f><v>#N/A</v>'),
    ):
        rewrite_parts(path, {SHEET: cached})
    assert read(path) == [(1, ["2", "xy", "#N/A", "", "end"])]


# --- sheets ---------------------------------------------------------------------------------


def two_sheets(tmp_path: Path) -> Path:
    def second_sheet(book: Any) -> None:
        book.create_sheet("Import")["A1"] = "from the second sheet"

    return workbook(tmp_path, {"A1": "from the first sheet"}, setup=second_sheet)


def test_the_first_sheet_is_read_unless_one_is_named(tmp_path: Path) -> None:
    path = two_sheets(tmp_path)
    first, first_rows = opened(path)
    chosen, chosen_rows = opened(path, sheet="Import")
    assert (first.sheet_name, first.sheet_names) == ("Customers", ["Customers", "Import"])
    assert first_rows == [(1, ["from the first sheet"])]
    assert chosen.sheet_name == "Import"
    assert chosen_rows == [(1, ["from the second sheet"])]


def test_a_sheet_name_matches_regardless_of_case(tmp_path: Path) -> None:
    chosen, _ = opened(two_sheets(tmp_path), sheet="IMPORT")
    assert chosen.sheet_name == "Import"


def test_an_unknown_sheet_name_is_refused_with_the_sheet_names(tmp_path: Path) -> None:
    message = refusal(two_sheets(tmp_path), sheet="Klanten")
    assert '"Klanten"' in message
    assert '"Customers", "Import"' in message
    assert_plain(message)


def test_the_file_is_closed_when_reading_ends(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Ann"})

    def open_handles() -> int:
        fds = Path("/proc/self/fd")
        if not fds.exists():
            pytest.skip("needs /proc to see open files")
        links = []
        for fd in fds.iterdir():
            try:
                links.append(os.readlink(fd))
            except OSError:
                continue
        return links.count(str(path))

    with open_xlsx(path) as sheet:
        next(sheet.rows)
        assert open_handles() >= 1
    assert open_handles() == 0


# --- files that are not workbooks -----------------------------------------------------------


def upload(tmp_path: Path, content: bytes, name: str = "customers.xlsx") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_an_old_xls_or_password_protected_file_is_refused(tmp_path: Path) -> None:
    path = upload(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088), "customers.xls")
    message = refusal(path)
    assert ".xls" in message
    assert "password" in message
    assert_plain(message)


@pytest.mark.parametrize(
    "content",
    [b"", os.urandom(4096), b"PK\x03\x04" + os.urandom(2000), b"First Name,Email\r\nAnn,a@b.c\r\n"],
    ids=["empty", "random bytes", "broken zip", "csv"],
)
def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path, content: bytes) -> None:
    message = refusal(upload(tmp_path, content))
    assert "not a readable Excel workbook" in message
    assert "CSV UTF-8" in message
    assert_plain(message)


def test_a_word_document_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<document/>")
    message = refusal(upload(tmp_path, buffer.getvalue(), "customers.docx"))
    assert "not an Excel workbook" in message
    assert_plain(message)


def test_a_workbook_renamed_to_any_extension_is_read(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Ann"}, name="upload.bin")
    assert read(path) == [(1, ["Ann"])]


def test_an_encrypted_part_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Ann"})
    patch_directory(path, SHEET, flags=0x1)
    message = refusal(path)
    assert "password" in message
    assert_plain(message)


# --- limits ---------------------------------------------------------------------------------


def test_too_many_columns_are_refused_naming_the_row(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Name", "A2": "Ann", "F2": "x"})
    message = refusal(path, LimitExceeded, limits=ReadLimits(max_columns=5))
    assert "Row 2" in message
    assert "6 columns" in message
    assert_plain(message)


def test_empty_styled_cells_do_not_count_as_columns(tmp_path: Path) -> None:
    def styled_far_right(book: Any) -> None:
        book.active["Z2"].font = Font(bold=True)

    path = workbook(tmp_path, {"A1": "Name", "A2": "Ann"}, setup=styled_far_right)
    assert read(path, limits=ReadLimits(max_columns=5)) == [(1, ["Name"]), (2, ["Ann"])]


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, {f"A{n}": f"customer {n}" for n in range(1, 8)})
    assert read(path, limits=ReadLimits(max_rows=7))[-1] == (7, ["customer 7"])
    message = refusal(path, LimitExceeded, limits=ReadLimits(max_rows=6))
    assert "more than 6 rows" in message
    assert_plain(message)


def test_an_oversized_cell_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Notes", "B3": "x" * 101})
    message = refusal(path, LimitExceeded, limits=ReadLimits(max_cell_chars=100))
    assert "Row 3" in message
    assert "B3" in message
    assert_plain(message)


def test_xml_entity_declarations_are_refused_not_expanded(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"A1": "Ann"})
    # A harmless entity: expanded, the cell would read "Ann Smith" without complaint.
    rewrite_parts(
        path,
        {
            SHEET: lambda xml: (
                b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY name "Ann Smith">]>'
                + xml.replace(b"<t>Ann</t>", b"<t>&name;</t>")
            )
        },
    )
    message = refusal(path)
    assert "entity" in message
    assert_plain(message)


def test_a_billion_laughs_in_the_shared_strings_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, {"B1": 1})
    lol = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    with_shared_strings(
        path,
        f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY lol0 "lol">{lol}]>'
        f'<sst xmlns="{MAIN_NS}"><si><t>&lol9;</t></si></sst>',
    )
    rewrite_parts(path, {SHEET: sub(r"<row r=\"1\">", '<row r="1"><c r="A1" t="s"><v>0</v></c>')})
    message = refusal(path)
    assert "entity" in message
    assert_plain(message)


# --- zip bombs ------------------------------------------------------------------------------

BOMB_BYTES = 50 * 1024 * 1024


def bomb(tmp_path: Path) -> Path:
    """A workbook whose sheet part is 50 MB of zeros, packed to about 50 KB."""
    path = workbook(tmp_path, {"A1": "Ann"})
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    with zipfile.ZipFile(path, "w") as new:
        for part, content in parts.items():
            if part == SHEET:
                new.writestr(part, bytes(BOMB_BYTES), zipfile.ZIP_DEFLATED, compresslevel=9)
            else:
                new.writestr(part, content, zipfile.ZIP_DEFLATED)
    return path


def forbid_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, fail the test if any zip part is opened for reading."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a part was inflated before the declared sizes were checked")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count every byte any zip part inflates to, whoever reads it."""
    counted = [0]
    original = zipfile.ZipExtFile.read

    def counting_read(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        data = original(self, n)
        counted[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    yield counted


def test_a_zip_bomb_is_refused_by_its_ratio_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bomb(tmp_path)
    forbid_inflating(monkeypatch)
    with pytest.raises(LimitExceeded) as caught:
        check_zip(path, ReadLimits())
    assert "zip bomb" in str(caught.value)
    assert_plain(str(caught.value))


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        (ReadLimits(max_entry_bytes=10 * 1024 * 1024, max_ratio=10**6), "a part larger than 10 MB"),
        (ReadLimits(max_unzipped_bytes=20 * 1024 * 1024, max_ratio=10**6), "more than 20 MB"),
    ],
    ids=["one part", "all parts"],
)
def test_a_workbook_over_a_size_limit_is_refused_before_inflating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limits: ReadLimits, words: str
) -> None:
    path = bomb(tmp_path)
    forbid_inflating(monkeypatch)
    message = refusal(path, LimitExceeded, limits=limits)
    assert words in message
    assert_plain(message)


def test_a_workbook_with_too_many_parts_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path, {"A1": "Ann"})
    forbid_inflating(monkeypatch)
    message = refusal(path, LimitExceeded, limits=ReadLimits(max_entries=5))
    assert "more than 5 parts" in message


@pytest.mark.parametrize("crc_matches", [False, True], ids=["crc as packed", "crc of the lie"])
def test_a_part_lying_about_its_size_is_never_inflated_past_it(
    tmp_path: Path, inflated: list[int], crc_matches: bool
) -> None:
    path = bomb(tmp_path)
    declared = 4096
    fields = {"size": declared}
    if crc_matches:  # the checksum of what the lie would give, so no CRC check catches it
        fields["crc"] = zlib.crc32(bytes(declared))
    patch_directory(path, SHEET, **fields)
    with pytest.raises(UnreadableFile), open_xlsx(path) as sheet:
        list(sheet.rows)
    assert inflated[0] < 1024 * 1024, f"{inflated[0]:,} bytes inflated"


def test_the_inflated_size_is_counted_not_only_declared(tmp_path: Path) -> None:
    path = bomb(tmp_path)
    # Should the directory's sizes be missed, the bytes counted while inflating still stop it.
    limits = ReadLimits(max_entry_bytes=10 * 1024 * 1024, max_ratio=10**6)
    with zipfile.ZipFile(path) as archive, pytest.raises(LimitExceeded, match="larger than"):
        check_inflated(archive, archive.infolist(), limits)


def test_the_first_visible_sheet_is_read_when_none_is_named(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    lookup = book.active
    assert lookup is not None
    lookup.title = "Lookup"
    lookup.append(["code", "meaning"])
    lookup.sheet_state = "hidden"
    customers = book.create_sheet("Customers")
    customers.append(["First Name"])
    customers.append(["Ann"])
    path = tmp_path / "hidden-first.xlsx"
    book.save(path)
    with open_xlsx(path) as opened:
        assert opened.sheet_name == "Customers"
        assert [cells for _, cells in opened.rows] == [["First Name"], ["Ann"]]


def damage_packed(path: Path, part: str = SHEET) -> Path:
    """Flip bytes in the middle of a part's packed data: the zip's own check refuses it."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    middle = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    for at in range(middle, middle + 64):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def wrong_checksum(path: Path) -> Path:
    """The sheet's data intact, its checksum wrong: only inflating it to its end shows it."""
    with zipfile.ZipFile(path) as archive:
        crc = archive.getinfo(SHEET).CRC
    patch_directory(path, SHEET, crc=crc ^ 1)
    return path


def many_rows(tmp_path: Path) -> Path:
    """A workbook of 3,000 rows."""

    def fill(book: Any) -> None:
        for n in range(3000):
            book.active.append([f"name {n}", n])

    return workbook(tmp_path, setup=fill)


@pytest.mark.parametrize("damage", [damage_packed, wrong_checksum], ids=["stream", "checksum"])
def test_a_damaged_sheet_in_the_zip_is_refused_before_any_row(
    tmp_path: Path, damage: Callable[[Path], Path]
) -> None:
    path = damage(many_rows(tmp_path))
    rows: Rows = []
    with pytest.raises(UnreadableFile) as caught, open_xlsx(path) as sheet:
        rows.extend(sheet.rows)
    assert (rows, str(caught.value)) == ([], DAMAGED)


def test_damage_in_a_part_no_row_comes_from_is_refused_before_any_row(tmp_path: Path) -> None:
    path = many_rows(tmp_path)
    rewrite_parts(path, {"docProps/app.xml": bytes(range(256)) * 64})
    damage_packed(path, "docProps/app.xml")
    with pytest.raises(UnreadableFile, match="damaged"), open_xlsx(path) as sheet:
        list(sheet.rows)


def test_a_damaged_zip_is_refused_before_a_sheet_name_that_is_not_there(tmp_path: Path) -> None:
    path = damage_packed(many_rows(tmp_path))
    with pytest.raises(UnreadableFile, match="damaged"), open_xlsx(path, sheet="Nowhere"):
        pass
