"""Random bytes into the readers: they raise only bulkport's declared errors, never crash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkport.errors import BulkportError
from bulkport.read_limits import ReadLimits
from bulkport.spreadsheets.mapping import header_score
from bulkport.spreadsheets.sources import open_sheet

LIMITS = ReadLimits(max_rows=10_000, max_columns=200, max_unzipped_bytes=50_000_000)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def read_all(path: Path) -> None:
    with open_sheet(path, header_score({}), limits=LIMITS) as sheet:
        for _ in sheet.rows:
            pass


def only_declared_errors(path: Path) -> None:
    try:
        read_all(path)
    except BulkportError as exc:
        assert str(exc).strip(), "a refusal must say why"


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_raise_only_declared_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "upload"
    path.write_bytes(data)
    only_declared_errors(path)


@FUZZ
@given(
    text=st.text(
        alphabet=st.sampled_from(list("ab,;\t|\"'\r\n =@é\x00")), min_size=0, max_size=600
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_random_delimited_text_raises_only_declared_errors(
    tmp_path: Path, text: str, encoding: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(("Email,Name\r\n" + text).encode(encoding, errors="replace"))
    only_declared_errors(path)


@FUZZ
@given(
    parts=st.dictionaries(
        st.sampled_from(
            ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml",
             "xl/sharedStrings.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"]
        ),
        st.binary(max_size=300) | st.just(b"<?xml version='1.0'?><x/>"),
        max_size=6,
    )
)  # fmt: skip
def test_random_zips_raise_only_declared_errors(tmp_path: Path, parts: dict[str, bytes]) -> None:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as book:
        for name, content in parts.items():
            book.writestr(name, content)
    path = tmp_path / "upload.xlsx"
    path.write_bytes(raw.getvalue())
    only_declared_errors(path)
