"""Imports point one way: the entry points (api, web, cli, worker) → usecases → tasks →
rules, schemas, spreadsheets, storage; the API, the pages and the command import none of each
other, and only the composition root (bulkport/app.py) puts the API and the pages together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bulkport"
ENTRY_POINTS = ("api", "web", "cli")

# What each part may not import (any module under the names), at the top or inside a function.
FORBIDDEN = {
    "api": ("web", "cli", "worker", "app"),
    "web": ("api", "cli", "worker", "app"),
    "cli": ("api", "web"),
    "http": ("api", "web", "cli", "worker", "app"),
    "usecases": ("api", "web", "cli", "http", "worker", "app"),
    "tasks": ("api", "web", "cli", "http", "usecases", "worker", "app"),
    "spreadsheets": ("api", "web", "http", "usecases", "worker", "cli", "tasks", "storage",
                     "config"),
    "schemas": ("api", "web", "http", "usecases", "worker", "cli", "tasks", "storage",
                "spreadsheets", "config"),
    "rules": ("api", "web", "http", "usecases", "worker", "cli", "tasks", "storage",
              "spreadsheets", "config", "schemas"),
    "storage": ("api", "web", "http", "usecases", "worker", "cli", "tasks", "spreadsheets"),
    "config": ("api", "web", "http", "usecases", "worker", "cli", "tasks", "storage",
               "spreadsheets", "schemas", "rules"),
}  # fmt: skip
# Opening a transaction or a connection: what only the use cases and the tasks do.
TRANSACTION = re.compile(r"\.engine\b|\breading\(|\.uow\b")


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


def wrong_imports(part: str, paths: list[Path]) -> set[str]:
    """Each import of ``paths`` (files of ``part``) that points where ``part`` may not."""
    return {
        f"{path.name} imports {name}"
        for path in paths
        for name in imported(path)
        for below in FORBIDDEN[part]
        if name == f"bulkport.{below}" or name.startswith(f"bulkport.{below}.")
    }


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_each_part_imports_only_what_lies_below_it(part: str) -> None:
    assert not wrong_imports(part, files_of(part)), sorted(wrong_imports(part, files_of(part)))


@pytest.mark.parametrize(
    ("part", "other"), [(a, b) for a in ENTRY_POINTS for b in ENTRY_POINTS if a != b]
)
def test_an_entry_point_importing_another_is_refused(tmp_path: Path, part: str, other: str) -> None:
    source = tmp_path / "handler.py"
    source.write_text(f"from bulkport.{other}.anything import thing\n")
    assert f"handler.py imports bulkport.{other}.anything" in wrong_imports(part, [source])


@pytest.mark.parametrize(
    "path",
    [p for part in ENTRY_POINTS for p in files_of(part)],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_an_entry_point_opens_no_transaction(path: Path) -> None:
    """The API, the pages and the command call use cases; the transactions are theirs."""
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if TRANSACTION.search(line)
    ]
    assert not found, found


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    source = tmp_path / "lazy.py"
    source.write_text("def f():\n    from bulkport.worker.app import enqueue\n")
    assert "bulkport.worker.app" in imported(source)
