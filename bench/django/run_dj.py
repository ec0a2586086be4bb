"""Run by ``bench/.venv-dj/bin/python``: ``setup PRELOAD.csv`` or ``import FILE.csv``.

``setup`` creates the table and stores the scenario's existing customers (untimed);
``import`` imports the measured file with django-import-export and prints one JSON line:
the seconds of the import (reading the file included, Django's start-up not), the result's
totals and the process's peak RSS.
"""

import csv
import json
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djbench.settings")

import django

django.setup()

import tablib  # noqa: E402
from django.db import connection  # noqa: E402
from djbench.models import Customer  # noqa: E402
from djbench.resources import COLUMNS, CustomerResource  # noqa: E402


def _value(kind: str, cell: str) -> object:
    if kind == "date":
        return date.fromisoformat(cell) if cell else None
    if kind == "bool":
        return {"TRUE": True, "FALSE": False}.get(cell)
    return cell


def setup(preload: str) -> None:
    """A fresh table holding the preloaded customers."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS djbench_customer")
    with connection.schema_editor() as editor:
        editor.create_model(Customer)
    with Path(preload).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        index = {label: i for i, label in enumerate(header)}
        batch = []
        for cells in reader:
            batch.append(
                Customer(**{key: _value(kind, cells[index[label]]) for key, label, kind in COLUMNS})
            )
            if len(batch) >= 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE djbench_customer")
    print(json.dumps({"preloaded": Customer.objects.count()}))


def run_import(path: str) -> None:
    """The measured import."""
    started = time.perf_counter()
    with Path(path).open(encoding="utf-8", newline="") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="csv")
    result = CustomerResource().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "totals": dict(result.totals),
                "has_errors": result.has_errors(),
                "has_validation_errors": result.has_validation_errors(),
                "stored": Customer.objects.count(),
                "ru_maxrss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2])
    else:
        run_import(sys.argv[2])
