"""Which of a job's files a download names."""

from __future__ import annotations

from enum import StrEnum


class DownloadFile(StrEnum):
    """Which of a job's files: an export's file (a privacy export's zip), or an import's error
    report."""

    EXPORT = "export"
    REPORT = "report"
