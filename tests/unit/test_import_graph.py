"""Imports point one way: api, worker, cli → tasks → spreadsheets, schemas, storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bulkport"

# What each part may not import (any module under the names), at the top or inside a function.
FORBIDDEN = {
    "api": ("worker", "cli"),
    "web": ("worker", "cli"),
    "tasks": ("api", "worker", "cli"),
    "spreadsheets": ("api", "worker", "cli", "tasks", "storage", "config"),
    "schemas": ("api", "worker", "cli", "tasks", "storage", "spreadsheets", "config"),
    "rules": ("api", "worker", "cli", "tasks", "storage", "spreadsheets", "config", "schemas"),
    "storage": ("api", "worker", "cli", "tasks", "spreadsheets"),
    "config": ("api", "worker", "cli", "tasks", "storage", "spreadsheets", "schemas"),
}


def imported(path: Path) -> set[str]:
    """Every bulkport module a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("bulkport.")}


def files_of(part: str) -> list[Path]:
    folder = PACKAGE / part
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{part}.py"]


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_each_part_imports_only_what_lies_below_it(part: str) -> None:
    wrong = {
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in files_of(part)
        for name in imported(path)
        for below in FORBIDDEN[part]
        if name == f"bulkport.{below}" or name.startswith(f"bulkport.{below}.")
    }
    assert not wrong, sorted(wrong)


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from bulkport.worker.app import enqueue\n")
    assert "bulkport.worker.app" in imported(source)
