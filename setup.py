"""Builds the import's hot modules into C extensions with mypyc when asked to.

Everything about the package is in pyproject.toml; this file only adds the compiled modules.
A plain ``pip install`` builds nothing and bulkport runs as pure Python. With
``BULKPORT_COMPILE=1`` (``make compiled``, the Docker image) mypyc turns the modules below,
type-checked as they are, into C: an import then spends about a fifth less CPU
(docs/performance.md, "Compiled with mypyc"). The ``.py`` files stay beside the built
modules and are what runs wherever the build was not made.

mypyc type-checks what it compiles, so the build needs the project's dependencies installed
(``pip install --no-build-isolation``), as ``make compiled`` and the Dockerfile do.
"""

from __future__ import annotations

import os

from setuptools import setup

# The modules a row passes through on its way in (reading, checking, planning, writing).
COMPILED = [
    "bulkport/schemas/countries.py",
    "bulkport/schemas/customer.py",
    "bulkport/schemas/dates.py",
    "bulkport/spreadsheets/cells.py",
    "bulkport/spreadsheets/csvfile.py",
    "bulkport/spreadsheets/sources.py",
    "bulkport/spreadsheets/spill.py",
    "bulkport/spreadsheets/xlsxfile.py",
    "bulkport/spreadsheets/xlsxstream.py",
    "bulkport/storage/customers.py",
    "bulkport/tasks/batches.py",
    "bulkport/tasks/survey.py",
]


def _extensions() -> list[object]:
    if os.environ.get("BULKPORT_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    # separate=True: each module is its own extension inside the package, where the
    # editable install's finder looks; one shared library would be a top-level module.
    return list(mypycify(COMPILED, opt_level="3", separate=True))


setup(ext_modules=_extensions())
