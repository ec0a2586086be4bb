"""The XLSX export's instructions beside xlsxwriter's alone on the same rows: the export line
measured without the machine's noise.

    python -m bench.export_instructions [--rows 20000]

Wall-clock times here moved by a quarter for the same export in one process, which puts a
ratio of two times anywhere between about 1.0 and 1.5. callgrind counts instructions instead:
a store is filled with ``--rows`` customers (untimed, outside valgrind); then four processes
run under ``valgrind --tool=callgrind``, two at a time: the export job (``run_export``, as a
worker runs it) and its baseline, which does everything but the job (start-up, imports,
staging the job); and the floor (``floors.xlsxwriter_alone`` on rows fetched beforehand, as
the export line does it) and its baseline, which fetches the rows but writes nothing. Each
side's work is its count less its baseline's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

from .harness import Databases, Services
from .instructions import callgrind_counts

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("export", "floor")


def main() -> None:
    """Fill a store, count the four runs, print each side's instructions and the ratio."""
    parser = argparse.ArgumentParser(prog="python -m bench.export_instructions")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", nargs=3, metavar=("URL", "SIDE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(tempfile.gettempdir()) / f"bulkport-export-instructions-{uuid.uuid4().hex[:6]}"
    services = Services.inline(args.pg_url, work)
    if args.child:
        url, side, mode = args.child
        _run_one(services, url, side, mode == "work")
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt install valgrind)")
    databases = Databases(services)
    try:
        url = databases.create("exportcount")
        _fill(services, url, args.rows)
        counts: dict[tuple[str, str], int] = {}
        for side in SIDES:
            counts.update(_count(url, side, args.pg_url))
    finally:
        databases.drop_all()
        shutil.rmtree(work, ignore_errors=True)
    work_of = {side: counts[side, "work"] - counts[side, "baseline"] for side in SIDES}
    for side in SIDES:
        print(
            f"{side:>7}: {counts[side, 'work']:,} - baseline {counts[side, 'baseline']:,} = "
            f"{work_of[side]:,} instructions ({work_of[side] / args.rows:,.0f} a row)"
        )
    print(f"  ratio: {work_of['export'] / work_of['floor']:.3f}× (the export line's target: 1.3×)")


def _fill(services: Services, url: str, rows: int) -> None:
    """A store with ``rows`` customers of the benchmark's data (untimed, not counted)."""
    from . import data
    from .harness import Store

    scenario = data.scenario(rows, "csv")
    store = Store.open(services, services.work / "home", url, "bench")
    try:
        store.preload(scenario.import_path)
        if store.count() != rows:
            raise RuntimeError(f"the store holds {store.count():,} customers, not {rows:,}")
    finally:
        store.close()


def _count(url: str, side: str, pg_url: str) -> dict[tuple[str, str], int]:
    """One side's work and baseline under callgrind, at the same time (one core each)."""
    arguments = ["-m", "bench.export_instructions", "--pg-url", pg_url, "--child", url, side]
    runs = {(side, mode): ([*arguments, mode], ROOT) for mode in ("work", "baseline")}
    return callgrind_counts(runs, "done")


def _run_one(services: Services, url: str, side: str, work: bool) -> None:
    """One side, with its work or without (the baseline): the same start-up and imports."""
    import xlsxwriter  # noqa: F401  both sides and both modes pay for the import

    from bulkport.rules.fields import FIELDS_BY_KEY
    from bulkport.tasks.exports import run_export
    from bulkport.worker.app import tune_collector

    from . import floors
    from .cases import _export_keys
    from .harness import Store

    store = Store.open(services, services.work / f"home-{side}", url, "bench")
    keys = _export_keys()
    tune_collector()  # as in a worker process
    try:
        if side == "export":
            job_id = store.stage_export("xlsx")
            if work:
                run_export(store.ctx, job_id)
                if store.job(job_id).status.value != "READY":
                    raise RuntimeError(f"the export ended {store.job(job_id).status}")
        else:
            fetched = floors.fetch_rows(services.libpq(url), store.store_id, keys)
            if work:
                header = [FIELDS_BY_KEY[key].label for key in keys]
                floors.xlsxwriter_alone(fetched, header, services.work / "alone.xlsx")
    finally:
        store.close()
        shutil.rmtree(services.work, ignore_errors=True)
    print("done")


if __name__ == "__main__":
    main()
