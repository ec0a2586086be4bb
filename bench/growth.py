"""Whether each line's figure holds when the rows grow tenfold (``python -m bench --growth``).

A line's figure should hold when the row count grows tenfold. The memory line measures both
sizes itself; for the others the bench runs each line a second time at a tenth of the rows
and this module sets the two side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .markdown import markdown_table


class Measured(Protocol):
    """What this module reads of a line's result (``bench.cases.CaseResult``)."""

    @property
    def name(self) -> str: ...
    @property
    def passed(self) -> bool | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def figures(self) -> dict[str, Any]: ...


# A line's deciding figure: its key in ``CaseResult.figures``, whether less is better, and
# the key of the measured job (whose counts say how many rows it had).
FIGURES: dict[str, tuple[str, bool, str]] = {
    "pg-import": ("ratio", True, "import"),
    "csv-export": ("ratio", True, "export"),
    "xlsx-export": ("ratio", True, "export"),
    "sqlite-import": ("rows_per_second", False, "import"),
    "xlsx-import": ("rows_per_second", False, "import"),
    "django-import-export": ("speedup", False, "bulkport"),
}
# Lines that measure both sizes themselves (worker-rss) or have no size (small-job).
UNSIZED = frozenset({"worker-rss", "small-job"})
# "Stays": the figure at ten times the rows is at most this much worse than at a tenth (the
# memory line's own bound for "flat").
STEADY = 1.25


@dataclass(frozen=True)
class Growth:
    """One line at a tenth of the rows and at its size."""

    name: str
    small: float
    big: float
    small_rows: int
    big_rows: int
    lower_is_better: bool
    passed_small: bool
    passed_big: bool

    @property
    def worsened(self) -> float:
        """How many times worse the figure is at ten times the rows (below 1: better)."""
        if self.lower_is_better:
            return self.big / self.small
        return self.small / self.big

    @property
    def steady(self) -> bool:
        """The figure got at most ``STEADY`` times worse."""
        return self.worsened <= STEADY

    @property
    def holds(self) -> bool:
        """The target is met at both sizes."""
        return self.passed_small and self.passed_big

    def as_json(self) -> dict[str, Any]:
        """For results.json."""
        return {
            "name": self.name,
            "small": self.small,
            "big": self.big,
            "small_rows": self.small_rows,
            "big_rows": self.big_rows,
            "worsened": round(self.worsened, 3),
            "steady": self.steady,
            "target_met_at_both_sizes": self.holds,
        }


def compare(small: Sequence[Measured], big: Sequence[Measured]) -> list[Growth]:
    """The lines measured at both sizes (and not broken at either), in ``big``'s order."""
    smalls = {r.name: r for r in small if r.error is None}
    found = []
    for result in big:
        other = smalls.get(result.name)
        if result.error is not None or other is None or result.name not in FIGURES:
            continue
        key, lower, job = FIGURES[result.name]
        found.append(
            Growth(
                name=result.name,
                small=float(other.figures[key]),
                big=float(result.figures[key]),
                small_rows=int(other.figures[job]["counts"]["total"]),
                big_rows=int(result.figures[job]["counts"]["total"]),
                lower_is_better=lower,
                passed_small=bool(other.passed),
                passed_big=bool(result.passed),
            )
        )
    return found


def _shown(value: float, key: str) -> str:
    if key == "rows_per_second":
        return f"{value / 1000:.1f}k rows/s"
    return f"{value:.2f}×"


def table(growths: list[Growth]) -> str:
    """The comparison as a Markdown table."""
    head = (
        "line",
        "at a tenth of the rows",
        "at the line's rows",
        "×10 rows: figure worse by",
        f"steady (≤ ×{STEADY})",
        "target met at both",
    )
    rows = [
        (
            g.name,
            f"{_shown(g.small, FIGURES[g.name][0])} ({g.small_rows:,})",
            f"{_shown(g.big, FIGURES[g.name][0])} ({g.big_rows:,})",
            f"×{g.worsened:.2f}",
            "yes" if g.steady else "NO",
            "yes" if g.holds else "no",
        )
        for g in growths
    ]
    return markdown_table(head, rows)
