"""Which of bulkport's modules run compiled by mypyc (setup.py, ``make compiled``).

A compiled module sits beside its ``.py`` file and is what Python imports; so a ``.py``
edited after the build does not run until the build is made again. The tests and the
bench check for that before they start.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def builds(package: Path = PACKAGE) -> dict[Path, Path]:
    """Each compiled module under ``package``, by the ``.py`` file it was built from."""
    found = {}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for built in package.rglob(f"*{suffix}"):
            source = built.with_name(built.name.removesuffix(suffix) + ".py")
            if source.is_file():
                found[source] = built
    return found


def stale(package: Path = PACKAGE) -> list[Path]:
    """The ``.py`` files changed since their compiled module was built.

    Meant for a source checkout, where ``make compiled`` builds in place; in an installed
    wheel the files carry whatever times the installer gave them.
    """
    return sorted(
        source
        for source, built in builds(package).items()
        if source.stat().st_mtime > _built_at(built)
    )


def _built_at(built: Path) -> float:
    """When a module was last built. mypyc (``separate=True``) puts its code in a library
    beside it, ``<name>__mypyc``, and leaves the module itself a stub that a rebuild only
    rewrites when the stub's own C changes: the newer of the two is the build's time."""
    name, _, suffix = built.name.partition(".")
    library = built.with_name(f"{name}__mypyc.{suffix}")
    times = [built.stat().st_mtime]
    if library.is_file():
        times.append(library.stat().st_mtime)
    return max(times)
