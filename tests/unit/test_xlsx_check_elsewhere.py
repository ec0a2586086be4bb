"""A big sheet's XML is checked in another process while the survey reads its rows.

The reading itself is compared with the usual one on every generated workbook in
``test_xlsx_stream.py`` (there the check runs in-process); these tests run the real process.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from xlsx_parts import Parts, Sheet, patch_directory, sheet_xml

from bulkport.errors import BulkportError
from bulkport.spreadsheets import spill, xlsxstream
from bulkport.spreadsheets.limits import ReadLimits
from bulkport.spreadsheets.xlsxfile import open_xlsx

PART = "xl/worksheets/sheet1.xml"


def workbook(path: Path, rows: int, damage_at: int | None = None) -> Path:
    """A plain sheet of ``rows`` rows; a control character (which only expat refuses) in
    row ``damage_at``."""
    xml = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>'
        f"{'bad' + chr(1) if n == damage_at else f'name {n}'}</t></is></c>"
        f'<c r="B{n}"><v>{n}</v></c></row>'
        for n in range(1, rows + 1)
    )
    return Parts([Sheet("Customers", sheet_xml(xml))]).write(path)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[xlsxstream.ElsewhereCheck]:
    """Every check ``sheet_rows`` starts: real processes, recorded."""
    started: list[xlsxstream.ElsewhereCheck] = []

    def real_check(
        path: str, part: str, split: xlsxstream.Tail | None, limits: ReadLimits
    ) -> xlsxstream.Check | None:
        check = xlsxstream.ElsewhereCheck.start(path, part, split, limits)
        assert isinstance(check, xlsxstream.ElsewhereCheck)
        started.append(check)
        return check

    monkeypatch.setattr(xlsxstream, "check_starter", real_check)
    return started


@pytest.fixture
def started(
    recorded: list[xlsxstream.ElsewhereCheck], monkeypatch: pytest.MonkeyPatch
) -> list[xlsxstream.ElsewhereCheck]:
    """As ``recorded``, with every sheet, however small, checked elsewhere."""
    monkeypatch.setattr(xlsxstream, "CHECK_ELSEWHERE_BYTES", 0)
    return recorded


def read(path: Path, *, check_elsewhere: bool) -> tuple[list[tuple[int, list[str]]], str | None]:
    rows: list[tuple[int, list[str]]] = []
    try:
        with open_xlsx(path, check_elsewhere=check_elsewhere) as sheet:
            rows.extend(sheet.rows)
    except BulkportError as exc:
        return rows, str(exc)
    return rows, None


def check_status(*args: str) -> int:
    command = [sys.executable, "-m", "bulkport.spreadsheets.xmlcheck", *args]
    return subprocess.run(command, capture_output=True, check=False).returncode


def test_the_check_passes_a_plain_sheet_and_fails_a_damaged_one(tmp_path: Path) -> None:
    assert check_status(str(workbook(tmp_path / "good.xlsx", 50)), PART) == 0
    assert check_status(str(workbook(tmp_path / "bad.xlsx", 50, damage_at=30)), PART) == 1
    assert check_status(str(tmp_path / "missing.xlsx"), PART) == 1
    assert check_status() == 2


def test_a_sheet_checked_elsewhere_reads_the_same_rows(
    tmp_path: Path, started: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000)
    expected = read(path, check_elsewhere=False)
    got = read(path, check_elsewhere=True)
    assert got == expected
    assert len(got[0]) == 3000
    assert [check.status for check in started] == [0]


def tail_status(path: Path, after: int, rows_file: Path) -> tuple[int, str]:
    """The check's exit status and report when it reads the tail past byte ``after`` too."""
    with rows_file.open("wb") as out:
        fd = out.fileno()
        limits = ReadLimits()
        command = [
            sys.executable, "-m", "bulkport.spreadsheets.xmlcheck", str(path), PART,
            str(after), str(fd), str(limits.max_rows), str(limits.max_columns),
            str(limits.max_cell_chars),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, check=False, pass_fds=(fd,))
    return done.returncode, done.stdout.decode()


def test_the_check_reads_a_tail_only_from_a_row_and_only_of_a_sound_sheet(
    tmp_path: Path,
) -> None:
    good = workbook(tmp_path / "good.xlsx", 50)
    status, report = tail_status(good, 1000, tmp_path / "rows")
    start, first_row, seen = map(int, report.split())
    assert (status, first_row, seen) == (0, 51 - seen, seen)
    assert 0 < seen < 50 and start > 1000
    with (tmp_path / "rows").open("rb") as rows:
        assert [n for n, _ in spill.read_chunks(rows)] == list(range(first_row, 51))
    assert tail_status(good, 10**9, tmp_path / "none")[0] == 3  # past every row
    bad = workbook(tmp_path / "bad.xlsx", 50, damage_at=10)
    assert tail_status(bad, 1000, tmp_path / "bad-rows")[0] == 1  # damage before the tail
    assert check_status(str(good), PART, "1000", "x", "1", "1", "1") == 2


@pytest.fixture
def tails(started: list[xlsxstream.ElsewhereCheck], monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``started``, with every sheet's last half read by the check's process."""
    monkeypatch.setattr(xlsxstream, "TAIL_ELSEWHERE_BYTES", 0)
    monkeypatch.setattr(xlsxstream, "TAIL_SHARE", 0.5)


@pytest.mark.usefixtures("tails")
def test_a_tail_read_by_the_process_gives_the_same_rows(
    tmp_path: Path, started: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000)
    assert read(path, check_elsewhere=True) == read(path, check_elsewhere=False)
    (check,) = started
    assert check.status == 0
    first_row, seen = map(int, check.report.split()[1:])
    assert first_row > 1000 and seen == 3001 - first_row
    assert check.rows_file is None  # closed: nothing stays


@pytest.mark.usefixtures("tails")
def test_damage_in_a_tail_read_by_the_process_fails_as_it_always_did(
    tmp_path: Path, started: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000, damage_at=2500)
    expected_rows, expected_refusal = read(path, check_elsewhere=False)
    rows, refusal = read(path, check_elsewhere=True)
    assert expected_refusal is not None and refusal == expected_refusal
    assert rows[: len(expected_rows)] == expected_rows
    assert [check.status for check in started] == [1]


def damage_packed(path: Path, part: str = PART) -> Path:
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


def with_part(path: Path, part: str, content: bytes) -> Path:
    """The workbook with one part's content replaced."""
    with zipfile.ZipFile(path) as old:
        parts = {info.filename: old.read(info) for info in old.infolist()}
    parts[part] = content
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)
    return path


def wrong_checksum(path: Path) -> Path:
    """The sheet's data intact, its checksum wrong: only inflating it to its end shows it."""
    with zipfile.ZipFile(path) as archive:
        crc = archive.getinfo(PART).CRC
    patch_directory(path, PART, crc=crc ^ 1)
    return path


@pytest.mark.parametrize("tail_share", [0.0, 0.5], ids=["check only", "tail too"])
@pytest.mark.parametrize("damage", [damage_packed, wrong_checksum], ids=["stream", "checksum"])
def test_a_damaged_zip_part_in_a_sheet_checked_elsewhere_is_refused_as_before(
    tmp_path: Path,
    started: list[xlsxstream.ElsewhereCheck],
    monkeypatch: pytest.MonkeyPatch,
    tail_share: float,
    damage: Callable[[Path], Path],
) -> None:
    """The zip's own check leaves a sheet checked elsewhere to that check, which inflates it
    to its end; a damaged stream or checksum fails the read with the zip check's words all
    the same."""
    if tail_share:
        monkeypatch.setattr(xlsxstream, "TAIL_ELSEWHERE_BYTES", 0)
        monkeypatch.setattr(xlsxstream, "TAIL_SHARE", tail_share)
    path = damage(workbook(tmp_path / "book.xlsx", 3000))
    expected_rows, expected_refusal = read(path, check_elsewhere=False)
    assert (expected_rows, expected_refusal) == ([], xlsxstream.DAMAGED)
    assert read(path, check_elsewhere=True)[1] == expected_refusal
    assert len(started) == 1  # (failed, or stopped when the damage sent the read elsewhere)


@pytest.mark.usefixtures("every_sheet_checked_by_a_process")
def test_a_damaged_zip_stream_is_refused_before_any_row_when_no_check_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = damage_packed(workbook(tmp_path / "book.xlsx", 3000))

    def no_process(*_: object, **__: object) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    assert read(path, check_elsewhere=True) == ([], xlsxstream.DAMAGED)


@pytest.mark.usefixtures("started")
def test_damage_in_another_part_is_refused_before_any_row(tmp_path: Path) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000)
    part = "docProps/app.xml"
    damage_packed(with_part(path, part, bytes(range(256)) * 64), part)
    expected = read(path, check_elsewhere=False)
    assert expected == ([], xlsxstream.DAMAGED)
    assert read(path, check_elsewhere=True) == expected


@pytest.mark.usefixtures("started")
def test_a_damaged_sheet_is_refused_before_a_sheet_name_that_is_not_there(
    tmp_path: Path,
) -> None:
    """The zip's check came before the sheet is chosen, and still does when it leaves the
    sheet to the check elsewhere: a refusal of the workbook's own parts waits for it."""
    path = damage_packed(workbook(tmp_path / "book.xlsx", 3000))
    for check_elsewhere in (False, True):
        with (
            pytest.raises(BulkportError, match="damaged"),
            open_xlsx(path, sheet="Nowhere", check_elsewhere=check_elsewhere),
        ):
            pass


def test_damage_only_expat_sees_fails_the_read_as_it_always_did(
    tmp_path: Path, started: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000, damage_at=2000)
    expected_rows, expected_refusal = read(path, check_elsewhere=False)
    assert expected_refusal is not None and len(expected_rows) < 2000
    rows, refusal = read(path, check_elsewhere=True)
    assert refusal == expected_refusal
    assert rows[: len(expected_rows)] == expected_rows
    assert [check.status for check in started] == [1]


def test_a_read_ended_early_stops_its_check(
    tmp_path: Path, started: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 3000)
    with open_xlsx(path, check_elsewhere=True) as sheet:
        first = next(sheet.rows)
    assert first[0] == 1
    (check,) = started
    assert check.process.returncode is not None  # stopped and waited for


def test_small_sheets_and_other_reads_are_checked_here(
    tmp_path: Path, recorded: list[xlsxstream.ElsewhereCheck]
) -> None:
    path = workbook(tmp_path / "book.xlsx", 100)
    assert read(path, check_elsewhere=True) == read(path, check_elsewhere=False)
    assert recorded == []  # under CHECK_ELSEWHERE_BYTES: not worth a process


@pytest.fixture
def every_sheet_checked_by_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsxstream, "CHECK_ELSEWHERE_BYTES", 0)
    monkeypatch.setattr(xlsxstream, "check_starter", xlsxstream.ElsewhereCheck.start)


@pytest.mark.usefixtures("every_sheet_checked_by_a_process")
def test_a_check_that_cannot_start_leaves_the_checking_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "book.xlsx", 200, damage_at=150)
    expected = read(path, check_elsewhere=False)

    def no_process(*_: object, **__: object) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    assert read(path, check_elsewhere=True) == expected


@pytest.mark.usefixtures("every_sheet_checked_by_a_process")
def test_an_interpreter_without_an_executable_leaves_the_checking_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workbook(tmp_path / "book.xlsx", 200, damage_at=150)
    expected = read(path, check_elsewhere=False)
    monkeypatch.setattr(sys, "executable", None)  # embedded: no interpreter to start
    assert xlsxstream.ElsewhereCheck.start(str(path), PART) is None
    assert read(path, check_elsewhere=True) == expected
