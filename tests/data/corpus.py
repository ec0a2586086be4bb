"""The import corpus: files as stores and other platforms write them, each with what it must give.

Generated here, never hand-edited: `python tests/data/corpus.py OUT_DIR` writes every file so a
person can open them; the tests build them in memory from the same cases.
"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Three customers whose names test exact characters, in every language the corpus speaks.
PEOPLE: list[dict[str, Any]] = [
    {
        "first_name": "Zoë",
        "last_name": "Ångström",
        "email": "zoe.angstrom@example.com",
        "phone": "+31 6 1234 5678",
        "invoice_postal_code": "5211 AB",
        "invoice_city": "'s-Hertogenbosch",
        "invoice_country": "NL",
        "date_of_birth": date(1985, 3, 14),
    },
    {
        "first_name": "François",
        "last_name": "Lefèvre",
        "email": "f.lefevre@example.fr",
        "phone": "0612345678",
        "invoice_postal_code": "75011",
        "invoice_city": "Paris",
        "invoice_country": "FR",
        "date_of_birth": date(1979, 12, 31),
    },
    {
        "first_name": "Jürgen",
        "last_name": "Müller-Lüdenscheidt",
        "email": "jurgen@example.de",
        "phone": "+49 30 123456",
        "invoice_postal_code": "10115",
        "invoice_city": "Berlin",
        "invoice_country": "DE",
        "date_of_birth": date(1990, 7, 4),
    },
]
KEYS = (
    "first_name", "last_name", "email", "phone", "invoice_postal_code", "invoice_city",
    "invoice_country", "date_of_birth",
)  # fmt: skip
ENGLISH = (
    "First Name", "Last Name", "Email", "Phone", "Postal Code", "City", "Country", "Date of Birth",
)  # fmt: skip
FRENCH = (
    "Prénom", "Nom", "Adresse e-mail", "Téléphone", "Code postal", "Ville", "Pays",
    "Date de naissance",
)  # fmt: skip
DUTCH = (
    "Voornaam", "Achternaam", "E-mailadres", "Telefoonnummer", "Postcode", "Plaats", "Land",
    "Geboortedatum",
)  # fmt: skip
COUNTRY_WORDS = {
    "fr": {"NL": "Pays-Bas", "FR": "France", "DE": "Allemagne"},
    "nl": {"NL": "Nederland", "FR": "Frankrijk", "DE": "Duitsland"},
    "en": {"NL": "Netherlands", "FR": "France", "DE": "Germany"},
}


@dataclass(frozen=True)
class Case:
    """One file of the corpus and what importing it must give."""

    name: str
    filename: str
    build: Callable[[], bytes]
    options: dict[str, Any] = field(default_factory=dict)
    created: int = 3
    errors: list[tuple[int, str]] = field(default_factory=list)
    expect_people: bool = True
    source: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, list[Any]] = field(default_factory=dict)
    compare: tuple[str, ...] = KEYS  # the fields of PEOPLE the file carries


def _rows(
    headers: tuple[str, ...], language: str = "en", date_style: str = "iso"
) -> list[list[str]]:
    rows = [list(headers)]
    for person in PEOPLE:
        born: date = person["date_of_birth"]
        shown = {
            "iso": born.isoformat(),
            "dmy": born.strftime("%d/%m/%Y"),
            "mdy": born.strftime("%m/%d/%Y"),
        }[date_style]
        values = {**person, "date_of_birth": shown}
        values["invoice_country"] = COUNTRY_WORDS[language][person["invoice_country"]]
        rows.append([values[key] for key in KEYS])
    return rows


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """Rows as a CSV file in the given encoding (Excel's CRLF line ends)."""
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def shopify_export() -> bytes:
    """A Shopify customer export's header and rows."""
    headers = [
        "First Name", "Last Name", "Email", "Accepts Email Marketing", "Default Address Company",
        "Default Address Address1", "Default Address Address2", "Default Address City",
        "Default Address Province Code", "Default Address Country Code", "Default Address Zip",
        "Default Address Phone", "Phone", "Accepts SMS Marketing", "Total Spent",
        "Total Orders", "Note", "Tax Exempt", "Tags",
    ]  # fmt: skip
    rows = [headers]
    for person in PEOPLE:
        rows.append(
            [
                person["first_name"], person["last_name"], person["email"], "yes", "",
                "Main street 1", "", person["invoice_city"], "", person["invoice_country"],
                person["invoice_postal_code"], "", person["phone"], "no", "12.50", "2",
                "VIP, pays on time", "no", "newsletter",
            ]
        )  # fmt: skip
    return csv_bytes(rows)


# Phone numbers typed into Excel as numbers: they must come back as these digits.
XLSX_MOBILES = ["31612345601", "33612345602", "4915112345603"]


def xlsx_workbook(title_rows: int = 2, inflate: bool = True) -> bytes:
    """An Excel workbook: a title above the header, real dates, phones stored as numbers, a
    formula with its cached value, and (optionally) a declared dimension of the whole sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Klanten"
    sheet.append(["Customer list", None, None, "exported 2026-11-01"])
    for _ in range(title_rows - 1):
        sheet.append([])
    sheet.append([*ENGLISH, "Mobile Phone", "Orders", "Total"])
    for number, (person, mobile) in enumerate(zip(PEOPLE, XLSX_MOBILES, strict=True), 2):
        born = person["date_of_birth"]
        sheet.append(
            [
                person["first_name"], person["last_name"], person["email"], person["phone"],
                person["invoice_postal_code"], person["invoice_city"],
                person["invoice_country"], datetime(born.year, born.month, born.day),
                int(mobile), 3, f"=J{number + title_rows}*10",
            ]
        )  # fmt: skip
    raw = io.BytesIO()
    book.save(raw)
    return _with_cached_values(raw.getvalue(), inflate)


def _with_cached_values(data: bytes, inflate: bool) -> bytes:
    """Give every formula the cached value Excel would have saved, and inflate the dimension."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = content.decode()
                xml = re.sub(r"<f>([^<]*)</f>(<v>[^<]*</v>|<v\s*/>)?", r"<f>\1</f><v>30</v>", xml)
                if inflate:
                    xml = re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', xml)
                content = xml.encode()
            target.writestr(item, content)
    return out.getvalue()


CASES: list[Case] = [
    Case("utf8-comma", "utf8.csv", lambda: csv_bytes(_rows(ENGLISH)),
         source={"encoding": "utf-8", "delimiter": ","}),
    Case("utf8-bom-semicolon", "utf8-bom.csv",
         lambda: csv_bytes(_rows(ENGLISH), "utf-8-sig", ";"),
         source={"encoding": "utf-8-sig", "delimiter": ";"}),
    Case("cp1252-semicolon-excel-windows", "excel-windows.csv",
         lambda: csv_bytes(_rows(FRENCH, "fr", "dmy"), "cp1252", ";"),
         source={"encoding": "cp1252", "delimiter": ";", "date_order": "dmy"}),
    Case("utf16-tab-with-bom", "unicode-text.txt",
         lambda: csv_bytes(_rows(ENGLISH), "utf-16", "\t"),
         source={"encoding": "utf-16", "delimiter": "\t"}),
    Case("utf16le-without-bom-pipe", "utf16le.csv",
         lambda: csv_bytes(_rows(ENGLISH), "utf-16-le", "|"),
         source={"encoding": "utf-16-le", "delimiter": "|"}),
    Case("dutch-headers-tab", "klanten.tsv",
         lambda: csv_bytes(_rows(DUTCH, "nl", "dmy"), "utf-8", "\t"),
         source={"delimiter": "\t", "date_order": "dmy"}),
    Case("us-dates-decided-by-the-column", "us.csv",
         lambda: csv_bytes(_rows(ENGLISH, "en", "mdy")),
         source={"date_order": "mdy"}),
    Case("title-rows-above-the-header", "titled.csv",
         lambda: csv_bytes([["Customers of Bakkerij de Jong"], [], *_rows(ENGLISH)]),
         source={"header_row": 3}),
    Case("shopify-export", "customers_export.csv", shopify_export,
         compare=tuple(k for k in KEYS if k != "date_of_birth")),
    Case("xlsx-title-dates-numbers-formulas-inflated", "klanten.xlsx", xlsx_workbook,
         source={"format": "xlsx", "sheet": "Klanten", "header_row": 3},
         extra={"mobile": XLSX_MOBILES}),
]  # fmt: skip


def main() -> None:
    """Write every corpus file into a folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (out / f"{case.name}--{case.filename}").write_bytes(case.build())
        print(out / f"{case.name}--{case.filename}")


if __name__ == "__main__":
    main()
