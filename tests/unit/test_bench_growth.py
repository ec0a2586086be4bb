"""The bench's tenfold comparison (``python -m bench --growth``) reads the right figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.growth import STEADY, compare, table


@dataclass
class Line:
    """A line's result, as much of it as the comparison reads."""

    name: str
    passed: bool | None
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _ratio_line(name: str, ratio: float, rows: int, passed: bool) -> Line:
    job = "export" if name.endswith("export") else "import"
    return Line(name, passed, {"ratio": ratio, job: {"counts": {"total": rows}}})


def _rate_line(name: str, per_second: float, rows: int, passed: bool) -> Line:
    figures = {"rows_per_second": per_second, "import": {"counts": {"total": rows}}}
    return Line(name, passed, figures)


def test_a_ratio_that_grows_by_more_than_the_bound_is_not_steady() -> None:
    small = [_ratio_line("pg-import", 1.6, 100_000, True)]
    big = [_ratio_line("pg-import", 1.6 * STEADY * 1.01, 1_000_000, False)]
    (line,) = compare(small, big)
    assert (line.small, line.small_rows, line.big_rows) == (1.6, 100_000, 1_000_000)
    assert not line.steady
    assert not line.holds  # the target failed at the big size


def test_rows_per_second_that_fall_are_worse_and_that_rise_are_better() -> None:
    small = [_rate_line("sqlite-import", 40_000, 100_000, True)]
    slower = compare(small, [_rate_line("sqlite-import", 20_000, 1_000_000, False)])[0]
    faster = compare(small, [_rate_line("sqlite-import", 50_000, 1_000_000, True)])[0]
    assert slower.worsened == 2.0 and not slower.steady
    assert faster.worsened == 0.8 and faster.steady and faster.holds


def test_lines_broken_or_measured_at_one_size_only_are_left_out() -> None:
    small = [
        _ratio_line("csv-export", 3.0, 100_000, True),
        Line("xlsx-export", None, error="RuntimeError: the worker died"),
        Line("small-job", True, {"median_seconds": 0.05}),
    ]
    big = [
        _ratio_line("csv-export", 3.3, 1_000_000, True),
        _ratio_line("xlsx-export", 1.1, 100_000, True),
        Line("small-job", True, {"median_seconds": 0.05}),
        _rate_line("xlsx-import", 9_000, 100_000, False),
    ]
    growths = compare(small, big)
    assert [g.name for g in growths] == ["csv-export"]
    printed = table(growths)
    assert "3.00× (100,000)" in printed and "3.30× (1,000,000)" in printed
    assert "×1.10" in printed
