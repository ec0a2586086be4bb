"""Row numbers as compact ranges: parsing, union, the rows a job stood at, streaming a filter."""

from __future__ import annotations

import pytest

from bulkport.schemas.jobs import ImportOptions
from bulkport.schemas.row_ranges import EVERY_ROW, RowRanges


def test_ranges_are_written_back_merged_and_in_order() -> None:
    assert str(RowRanges.parse(" 17, 2-5,6 ,40-,50-60")) == "2-6,17,40-"
    assert str(RowRanges.of_rows([9, 3, 4, 5, 11])) == "3-5,9,11"
    assert RowRanges.parse("2-5,17").count() == 5
    assert RowRanges.parse("2-").count() is None
    assert str(RowRanges.parse("5-2")) == "2-5"


@pytest.mark.parametrize("text", ["", "a", "0", "01", "-3", "2-x", "1--2", "²"])
def test_anything_but_row_numbers_and_ranges_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="no row number"):
        RowRanges.parse(text)


def test_an_import_keeps_its_rows_as_ranges_and_refuses_others() -> None:
    assert ImportOptions(only_rows="5,2-4").only_rows == "2-5"
    with pytest.raises(ValueError, match="only_rows"):
        ImportOptions(only_rows="x")


def test_within_and_after_find_where_a_job_stood() -> None:
    ranges = RowRanges.parse("2-5,10-12,20-")
    assert str(ranges.within(4, 11)) == "4-5,10-11"
    assert str(ranges.within(30)) == "30-"
    assert ranges.after(2, 0) == 2
    assert ranges.after(2, 4) == 10  # rows 2, 3, 4, 5 read: row 10 is next
    assert ranges.after(3, 5) == 12
    assert ranges.after(2, 1000) == 1000 - 7 + 20
    assert RowRanges.parse("2-3").after(2, 2) is None
    assert EVERY_ROW.after(2, 100) == 102
    assert 11 in ranges and 13 not in ranges and 99 in ranges


def test_select_streams_only_the_rows_named() -> None:
    rows = ((n, [str(n)]) for n in range(2, 100))
    kept = [n for n, _ in RowRanges.parse("3,7-8,95-").select(rows)]
    assert kept == [3, 7, 8, 95, 96, 97, 98, 99]
    assert [n for n, _ in RowRanges.parse("3").select(iter([(2, 0), (3, 0), (4, 0)]))] == [3]
