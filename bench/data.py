"""Deterministic customer files for the benchmark: N rows × 22 columns, CSV or XLSX.

Every value of customer ``i`` is a pure function of ``i`` (pools indexed by multiplicative
hashes), so a file depends only on its size, its seed and ``VERSION``; files are cached under
``bench/data/`` (git-ignored) and reused by later runs.

The "half new, half updates" scenario of ``n`` rows is two files:

* ``preload``: customers ``0 … n/2-1`` as they are stored before the measured job (loaded
  untimed, through ``bulkport.storage.customer_writes.insert_many``);
* ``import``: those ``n/2`` again with a changed Notes cell (real updates) plus customers
  ``n/2 … n-1`` (new), in a shuffled order.
"""

from __future__ import annotations

import csv
import os
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bulkport.rules.fields import FIELDS_BY_KEY

VERSION = 1
DATA_DIR = Path(__file__).with_name("data")

# 22 writable fields: names, email, phones, language, gender, date of birth, booleans,
# customer type, company, VAT, the invoice address and notes.
KEYS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "language",
    "gender",
    "date_of_birth",
    "accepts_marketing",
    "account_approved",
    "customer_type",
    "company",
    "vat_number",
    "tax_exempt",
    "invoice_address1",
    "invoice_house_number",
    "invoice_addition",
    "invoice_postal_code",
    "invoice_city",
    "invoice_region",
    "invoice_country",
    "notes",
)
HEADER: tuple[str, ...] = tuple(FIELDS_BY_KEY[key].label for key in KEYS)
DATE_COLUMN = KEYS.index("date_of_birth")
NOTES_COLUMN = KEYS.index("notes")

_FIRST = (
    "Emma", "Liam", "Sophie", "Noah", "Julia", "Lucas", "Zoë", "Daan", "Anaïs", "Sem",
    "Fleur", "Finn", "Mila", "Levi", "Saar", "Jesse", "Léa", "Bram", "Chloé", "Thijs",
    "Olivia", "Jack", "Amelia", "Harry", "Isla", "Oscar", "Émile", "Inès", "Jonas", "Lena",
    "Mohammed", "Fatima", "Yusuf", "Aylin", "José", "María", "Søren", "Åsa", "Nikolaj", "Zofia",
)  # fmt: skip
_LAST = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "'t Hart",
    "Mulder", "de Boer", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Müller",
    "Schmidt", "Schneider", "Fischer", "Weber", "Smith", "Jones", "Taylor", "Brown", "Wilson",
    "O'Brien", "Peeters", "Maes", "Janssens", "Claes", "Yılmaz", "Kaya", "García", "Núñez",
)  # fmt: skip
_DOMAINS = ("example.com", "example.nl", "example.be", "example.fr", "example.de", "example.org")
_STREETS = (
    "Kerkstraat", "Dorpsstraat", "Hoofdstraat", "Stationsweg", "Molenweg", "Rue de la Paix",
    "Avenue Victor Hugo", "Hauptstraße", "Bahnhofstraße", "High Street", "Station Road",
    "Grote Markt", "Lange Nieuwstraat", "Chaussée de Wavre", "Schulstraße",
)  # fmt: skip
_PLACES = (
    ("Amsterdam", "Noord-Holland", "NL", "1017 {:02d}AB"),
    ("Utrecht", "Utrecht", "NL", "3511 {:02d}CD"),
    ("'s-Hertogenbosch", "Noord-Brabant", "NL", "5211 {:02d}EF"),
    ("Gent", "Oost-Vlaanderen", "BE", "90{:02d}"),
    ("Antwerpen", "Antwerpen", "BE", "20{:02d}"),
    ("Lyon", "Auvergne-Rhône-Alpes", "FR", "690{:02d}"),
    ("Paris", "Île-de-France", "FR", "750{:02d}"),
    ("Köln", "Nordrhein-Westfalen", "DE", "506{:02d}"),
    ("München", "Bayern", "DE", "803{:02d}"),
    ("Manchester", "Greater Manchester", "GB", "M{:02d} 4BT"),
)
_LANGUAGES = ("nl", "nl", "en", "fr", "de")
_GENDERS = ("female", "male", "", "female", "male", "other")
_COMPANIES = (
    "Bakkerij de Korenschoof", "Fietsenmaker Jansen", "Atelier Lumière", "Müller & Söhne GmbH",
    "Harbour Coffee Ltd", "Groenteboer Visser", "Studio Noord", "Boulangerie Moreau",
)  # fmt: skip
_NOTES = (
    "Prefers delivery after 17:00.",
    "Allergic to nuts; no samples.",
    'Asked for a "gift wrap" on every order, please.',
    "Regular customer, knows the owner",
    "Note with a line break:\nsecond line",
    "=1+1 looks like a formula",
    "-10% discount agreed",
    "",
    "",
    "",
)
_EPOCH = date(1940, 1, 1)
_DOB_SPAN = (date(2005, 12, 31) - _EPOCH).days


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in plain if ch.isascii() and ch.isalnum()).lower()


_FIRST_ASCII = tuple(_ascii(name) for name in _FIRST)
_LAST_ASCII = tuple(_ascii(name) for name in _LAST)


def customer_row(i: int, *, updated: bool = False) -> list[str]:
    """The 22 cells of customer ``i``; ``updated`` changes its Notes cell only."""
    h = (i * 2654435761 + 97) & 0xFFFFFFFF
    g = (i * 40503 + 12345) & 0xFFFFFFFF
    fi, la = h % len(_FIRST), (h >> 8) % len(_LAST)
    place = _PLACES[(g >> 3) % len(_PLACES)]
    business = h % 5 == 0
    dob = _EPOCH + timedelta(days=(g >> 5) % _DOB_SPAN)
    notes = f"Updated by bench: new note {i}" if updated else _NOTES[(h >> 16) % len(_NOTES)]
    return [
        _FIRST[fi],
        _LAST[la],
        f"{_FIRST_ASCII[fi]}.{_LAST_ASCII[la]}.{i}@{_DOMAINS[(h >> 4) % len(_DOMAINS)]}",
        f"+31 20 {h % 1000:03d} {g % 10000:04d}" if h % 3 else "",
        f"06-{(h ^ g) % 100_000_000:08d}",
        _LANGUAGES[(g >> 7) % len(_LANGUAGES)],
        _GENDERS[(h >> 12) % len(_GENDERS)],
        dob.isoformat() if g % 7 else "",
        "TRUE" if (h >> 3) & 1 else "FALSE",
        "TRUE" if (g >> 9) & 3 else "FALSE",
        "business" if business else "private",
        _COMPANIES[(g >> 11) % len(_COMPANIES)] if business else "",
        f"NL{h % 1_000_000_000:09d}B01" if business else "",
        "FALSE",
        _STREETS[(g >> 13) % len(_STREETS)],
        str(1 + h % 250),
        "bis" if h % 17 == 0 else "",
        place[3].format(g % 100),
        place[0],
        place[1],
        place[2],
        notes,
    ]


@dataclass(frozen=True)
class Scenario:
    """The files of a "half new, half updates" import of ``rows`` rows."""

    rows: int
    preload_csv: Path
    import_path: Path

    @property
    def preloaded(self) -> int:
        """Customers stored before the measured job (they become the updates)."""
        return self.rows // 2

    @property
    def new(self) -> int:
        """Customers the measured job creates."""
        return self.rows - self.preloaded


def _order(rows: int, seed: int) -> list[int]:
    order = list(range(rows))
    random.Random(seed).shuffle(order)
    return order


def import_rows(rows: int, seed: int = 1) -> Iterator[list[str]]:
    """The measured file's data rows: the first half updated, the second half new, shuffled."""
    half = rows // 2
    for i in _order(rows, seed):
        yield customer_row(i, updated=i < half)


def preload_rows(rows: int) -> Iterator[list[str]]:
    """The customers stored before the measured job, as they were."""
    for i in range(rows // 2):
        yield customer_row(i)


def write_csv(path: Path, rows: Iterator[Sequence[str]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    tmp.replace(path)


def _write_xlsx(path: Path, rows: Iterator[Sequence[str]]) -> None:
    import xlsxwriter

    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    book = xlsxwriter.Workbook(
        str(tmp),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False},
    )
    sheet = book.add_worksheet("Customers")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    for r, cells in enumerate(rows, start=1):
        for c, cell in enumerate(cells):
            if not cell:
                continue
            if c == DATE_COLUMN:
                sheet.write_datetime(r, c, date.fromisoformat(cell), dates)
            else:
                sheet.write_string(r, c, cell)
    book.close()
    tmp.replace(path)


def scenario(rows: int, fmt: str = "csv", seed: int = 1, folder: Path = DATA_DIR) -> Scenario:
    """The cached files of a scenario, written first if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"v{VERSION}-s{seed}-{rows}"
    preload = folder / f"preload-{stem}.csv"
    measured = folder / f"import-{stem}.{fmt}"
    if not preload.exists():
        write_csv(preload, preload_rows(rows))
    if not measured.exists():
        if fmt == "xlsx":
            _write_xlsx(measured, import_rows(rows, seed))
        else:
            write_csv(measured, import_rows(rows, seed))
    return Scenario(rows=rows, preload_csv=preload, import_path=measured)


def small_csv(rows: int = 10, start: int = 50_000_000) -> bytes:
    """A small upload of new customers (each call of the same ``start`` gives the same file)."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(customer_row(start + i) for i in range(rows))
    return buffer.getvalue().encode()


def main() -> None:
    """``python -m bench.data ROWS [csv|xlsx]``: write (or find) a scenario's files."""
    import sys
    import time

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    fmt = sys.argv[2] if len(sys.argv) > 2 else "csv"
    started = time.perf_counter()
    found = scenario(rows, fmt)
    took = time.perf_counter() - started
    print(f"{found.import_path} ({found.import_path.stat().st_size:,} bytes)")
    print(f"{found.preload_csv} ({found.preload_csv.stat().st_size:,} bytes)")
    print(f"{took:.1f} s")


if __name__ == "__main__":
    main()
