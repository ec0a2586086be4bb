"""The bench's printed tables: Markdown, padded so that they also read as plain text."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(
    head: Sequence[str], rows: Sequence[Sequence[str]], first_width: int | None = None
) -> str:
    """``head`` and ``rows`` as a Markdown table, each column as wide as its widest cell (the
    first column at most ``first_width``, when given)."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    if first_width is not None:
        widths[0] = min(widths[0], first_width)

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *map(line, rows)])
