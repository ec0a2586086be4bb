"""The check that keeps a stale mypyc build from being tested or measured."""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

from bulkport import compiled

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    for name in ("sub/fast.py", "sub/plain.py", "other.py"):
        (package / name).write_text("x = 1\n")
    (package / f"sub/fast{SUFFIX}").write_bytes(b"\x7fELF")
    (package / f"orphan{SUFFIX}").write_bytes(b"\x7fELF")  # no .py beside it: not ours
    return package


def test_a_build_is_found_beside_the_source_it_was_made_from(tmp_path: Path) -> None:
    package = _package(tmp_path)
    assert compiled.builds(package) == {package / "sub/fast.py": package / f"sub/fast{SUFFIX}"}


def test_a_source_edited_after_its_build_is_stale_and_a_rebuild_clears_it(tmp_path: Path) -> None:
    package = _package(tmp_path)
    source, built = package / "sub/fast.py", package / f"sub/fast{SUFFIX}"
    os.utime(source, (1_000, 1_000))
    os.utime(built, (2_000, 2_000))
    assert compiled.stale(package) == []
    os.utime(source, (3_000, 3_000))
    assert compiled.stale(package) == [source]
    os.utime(built, (4_000, 4_000))
    assert compiled.stale(package) == []


def test_a_rebuild_that_rewrote_only_the_code_library_is_not_stale(tmp_path: Path) -> None:
    # mypyc leaves the module a stub it rewrites only when the stub changes; the code is in
    # <name>__mypyc beside it (the bench once refused a fresh build for this).
    package = _package(tmp_path)
    source, stub = package / "sub/fast.py", package / f"sub/fast{SUFFIX}"
    library = package / f"sub/fast__mypyc{SUFFIX}"
    library.write_bytes(b"\x7fELF")
    os.utime(stub, (1_000, 1_000))
    os.utime(source, (2_000, 2_000))
    os.utime(library, (3_000, 3_000))
    assert compiled.stale(package) == []
    assert compiled.builds(package) == {source: stub}  # the library is no module of its own
    os.utime(source, (4_000, 4_000))
    assert compiled.stale(package) == [source]


def test_sources_without_a_build_are_never_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    os.utime(package / "sub/plain.py", (9_000, 9_000))
    assert compiled.stale(package) == []
