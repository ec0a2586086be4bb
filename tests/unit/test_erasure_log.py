"""The erasure log's file: appended to, read again cheaply, and robust to a torn last line."""

from __future__ import annotations

import stat
from pathlib import Path

from bulkport.storage import erasure_log


def test_a_line_a_crash_cut_short_loses_no_erasure_appended_after_it(tmp_path: Path) -> None:
    log = tmp_path / "erasure-log.jsonl"
    erasure_log.append(log, 1, [10])
    with log.open("ab") as out:
        out.write(b'{"customer_id": 11, "sto')  # a write a crash cut short
    assert erasure_log.logged(log) == {1: [10]}
    erasure_log.append(log, 2, [20, 21])
    assert erasure_log.logged(log) == {1: [10], 2: [20, 21]}
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_each_read_takes_the_new_lines_and_a_replaced_log_is_read_again(tmp_path: Path) -> None:
    log = tmp_path / "erasure-log.jsonl"
    assert erasure_log.logged(log) == {}
    erasure_log.append(log, 1, [3, 1])
    assert erasure_log.logged(log) == {1: [1, 3]}
    erasure_log.append(log, 1, [2, 3])
    assert erasure_log.logged(log) == {1: [1, 2, 3]}
    log.unlink()
    erasure_log.append(log, 5, [7])
    assert erasure_log.logged(log) == {5: [7]}
    other = tmp_path / "other.jsonl"
    erasure_log.append(other, 6, range(10))
    other.replace(log)  # a longer file in its place
    assert erasure_log.logged(log) == {6: list(range(10))}
