"""Limits on what a file may hold, so that no upload can exhaust a worker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadLimits:
    """Bounds every reader enforces while it streams; passing one raises ``LimitExceeded``."""

    max_rows: int = 2_000_000
    max_columns: int = 500
    max_cell_chars: int = 32_767  # Excel's own limit for a cell
    # XLSX is a zip: bound what it may inflate to, in all and per part, and how much it may
    # grow relative to its compressed size (a "zip bomb" grows a thousandfold and more).
    max_unzipped_bytes: int = 2 * 1024**3
    max_entry_bytes: int = 1024**3
    max_ratio: int = 200
    max_entries: int = 10_000


DEFAULT_LIMITS = ReadLimits()
