"""Write a realistic customer CSV in bulkport's import format, with a few rows that must fail.

    python examples/make_customers.py --rows 1000 --invalid 10 --output examples/customers.csv

The header is the export labels of the writable fields (no Customer Record ID, so every row is
a new customer). The output depends only on the options: the same seed gives the same file.
Each invalid row has exactly one problem; the kinds are taken in turn (see ``INVALID_KINDS``).
All valid rows have an email, so importing the file twice gives ``unchanged`` the second time.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

from bulkport.rules.fields import FIELDS, FieldKind

_COLUMNS = [f for f in FIELDS if f.kind not in (FieldKind.RECORD_ID, FieldKind.READ_ONLY)]
KEYS: list[str] = [f.key for f in _COLUMNS]
HEADER: list[str] = [f.label for f in _COLUMNS]

# The error codes bulkport reports for each kind of invalid row, in the order they are used.
INVALID_KINDS: tuple[str, ...] = (
    "invalid_email",
    "missing_identity",
    "sales_tax_number_required",
    "invalid_boolean",
    "invalid_date",
    "duplicate_in_file",
)

Row = dict[str, str]


@dataclass(frozen=True)
class City:
    """A city, a pattern for its postal codes (``#`` digit, ``A`` letter) and its region."""

    name: str
    postal: str
    region: str


@dataclass(frozen=True)
class Country:
    """What customers from one country look like; patterns use ``#`` for a digit."""

    code: str
    weight: int
    languages: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[City, ...]
    phone: str
    mobile: str
    vat: str
    company_id: str
    coc: str
    sales_tax: str
    companies: tuple[str, ...]
    uses_initials: bool = False


COUNTRIES: tuple[Country, ...] = (
    Country(
        code="NL",
        weight=34,
        languages=("nl", "nl", "nl", "en"),
        female=("Sanne", "Femke", "Lotte", "Anouk", "Zoë", "Eva", "Inge", "Marieke", "Noë"),
        male=("Jan", "Pieter", "Daan", "Bram", "Joris", "Sven", "Thijs", "Gerrit", "Ruud"),
        surnames=(
            "de Vries",
            "Jansen",
            "van der Berg",
            "van der Meer",
            "Bakker",
            "Visser",
            "Smit",
            "de Jong",
            "van Dijk",
            "Mulder",
            "van den Heuvel",
            "Hoekstra",
            "van 't Hof",
        ),
        streets=("Keizersgracht", "Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenlaan"),
        cities=(
            City("Amsterdam", "10## AA", "Noord-Holland"),
            City("Rotterdam", "30## AA", "Zuid-Holland"),
            City("Utrecht", "35## AA", "Utrecht"),
            City("Eindhoven", "56## AA", "Noord-Brabant"),
            City("Groningen", "97## AA", "Groningen"),
            City("'s-Hertogenbosch", "52## AA", "Noord-Brabant"),
        ),
        phone="+31 20 ### ####",
        mobile="+31 6 #### ####",
        vat="NL#########B01",
        company_id="",
        coc="########",
        sales_tax="NL#########B01",
        companies=("Bakkerij {last}", "{last} Installatietechniek B.V.", "Fietsen {city} B.V."),
        uses_initials=True,
    ),
    Country(
        code="BE",
        weight=10,
        languages=("nl", "fr"),
        female=("Emma", "Lise", "Margaux", "Elise", "Anaïs", "Fien"),
        male=("Lucas", "Wout", "Arthur", "Louis", "Matthias", "Cédric"),
        surnames=("Peeters", "Janssens", "Maes", "Dubois", "Van den Broeck", "Lambert", "Claes"),
        streets=("Meir", "Veldstraat", "Rue Neuve", "Bondgenotenlaan", "Rue de la Station"),
        cities=(
            City("Antwerpen", "2000", "Antwerpen"),
            City("Gent", "9000", "Oost-Vlaanderen"),
            City("Bruxelles", "1000", "Bruxelles-Capitale"),
            City("Liège", "4000", "Liège"),
            City("Leuven", "3000", "Vlaams-Brabant"),
        ),
        phone="+32 3 ### ## ##",
        mobile="+32 47# ## ## ##",
        vat="BE0#########",
        company_id="0###.###.###",
        coc="",
        sales_tax="BE0#########",
        companies=("{last} BV", "Brasserie {last}", "{last} & Fils SRL"),
        uses_initials=True,
    ),
    Country(
        code="DE",
        weight=16,
        languages=("de",),
        female=("Lena", "Sophie", "Hannah", "Anja", "Jördis", "Käthe", "Mia"),
        male=("Jürgen", "Lukas", "Maximilian", "Jörg", "Stefan", "Björn", "Uwe"),
        surnames=("Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Köhler", "Becker"),
        streets=("Hauptstraße", "Schillerstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee"),
        cities=(
            City("Berlin", "10###", "Berlin"),
            City("München", "80###", "Bayern"),
            City("Köln", "50###", "Nordrhein-Westfalen"),
            City("Hamburg", "20###", "Hamburg"),
            City("Düsseldorf", "40###", "Nordrhein-Westfalen"),
        ),
        phone="+49 30 ########",
        mobile="+49 151 ########",
        vat="DE#########",
        company_id="",
        coc="HRB ######",
        sales_tax="##/###/#####",
        companies=("{last} GmbH", "Bäckerei {last}", "{last} & Söhne KG"),
        uses_initials=True,
    ),
    Country(
        code="FR",
        weight=12,
        languages=("fr",),
        female=("Françoise", "Léa", "Hélène", "Amélie", "Chloé", "Maëlle", "Zoé"),
        male=("Jérôme", "Mathéo", "Théo", "Benoît", "François", "Noël", "Loïc"),
        surnames=("Martin", "Bernard", "Lefèvre", "Moreau", "Girard", "Rousseau", "Le Gall"),
        streets=("rue de la Paix", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Voltaire"),
        cities=(
            City("Paris", "750##", "Île-de-France"),
            City("Lyon", "6900#", "Auvergne-Rhône-Alpes"),
            City("Marseille", "130##", "Provence-Alpes-Côte d'Azur"),
            City("Bordeaux", "33000", "Nouvelle-Aquitaine"),
            City("Lille", "59000", "Hauts-de-France"),
        ),
        phone="+33 1 ## ## ## ##",
        mobile="+33 6 ## ## ## ##",
        vat="FR## #########",
        company_id="### ### ### #####",
        coc="",
        sales_tax="FR## #########",
        companies=("{last} SARL", "Boulangerie {last}", "Atelier {last}"),
    ),
    Country(
        code="GB",
        weight=10,
        languages=("en",),
        female=("Amelia", "Isla", "Zoë", "Siobhán", "Charlotte", "Olivia"),
        male=("Oliver", "George", "Harry", "Seán", "Callum", "Rhys"),
        surnames=("Smith", "Jones", "Taylor", "O'Brien", "Davies", "Evans", "McAllister"),
        streets=("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane"),
        cities=(
            City("London", "SW1A #AA", "Greater London"),
            City("Manchester", "M1 #AA", "Greater Manchester"),
            City("Edinburgh", "EH1 #AA", "Scotland"),
            City("Bristol", "BS1 #AA", "Bristol"),
            City("Cardiff", "CF10 #AA", "Wales"),
        ),
        phone="+44 20 #### ####",
        mobile="+44 7700 ######",
        vat="GB#########",
        company_id="########",
        coc="",
        sales_tax="GB#########",
        companies=("{last} & Sons Ltd", "{city} Cycles Ltd", "The {last} Bakery"),
    ),
    Country(
        code="ES",
        weight=6,
        languages=("es",),
        female=("María", "Lucía", "Begoña", "Inés", "Ainhoa"),
        male=("José", "Álvaro", "Iñigo", "Sergio", "Joaquín"),
        surnames=("García", "Fernández", "López", "Martínez", "Núñez", "de la Fuente"),
        streets=("Calle Mayor", "Gran Vía", "Calle de Alcalá", "Avenida de la Constitución"),
        cities=(
            City("Madrid", "280##", "Comunidad de Madrid"),
            City("Barcelona", "080##", "Cataluña"),
            City("Sevilla", "410##", "Andalucía"),
            City("Valencia", "460##", "Comunitat Valenciana"),
        ),
        phone="+34 91 ### ## ##",
        mobile="+34 6## ## ## ##",
        vat="ESB########",
        company_id="B########",
        coc="",
        sales_tax="ESB########",
        companies=("{last} S.L.", "Panadería {last}", "Talleres {city} S.A."),
    ),
    Country(
        code="SE",
        weight=4,
        languages=("sv", "en"),
        female=("Åsa", "Linnéa", "Maja", "Ebba"),
        male=("Björn", "Måns", "Erik", "Örjan"),
        surnames=("Andersson", "Öberg", "Lindqvist", "Nyström", "Åkesson"),
        streets=("Storgatan", "Drottninggatan", "Kungsgatan", "Skolvägen"),
        cities=(
            City("Stockholm", "11# ##", "Stockholms län"),
            City("Göteborg", "41# ##", "Västra Götalands län"),
            City("Malmö", "21# ##", "Skåne län"),
        ),
        phone="+46 8 ### ### ##",
        mobile="+46 70 ### ## ##",
        vat="SE##########01",
        company_id="556###-####",
        coc="",
        sales_tax="SE##########01",
        companies=("{last} AB", "{city} Cykel AB"),
    ),
    Country(
        code="US",
        weight=8,
        languages=("en",),
        female=("Jennifer", "Chloe", "Ashley", "Renée", "Maya"),
        male=("Michael", "Tyler", "José", "Andre", "Brandon"),
        surnames=("Johnson", "Williams", "Nguyen", "García-Ruiz", "O'Connor", "Kowalski"),
        streets=("Main Street", "Oak Avenue", "Elm Street", "Congress Avenue", "Broadway"),
        cities=(
            City("New York", "100##", "NY"),
            City("Austin", "787##", "TX"),
            City("Portland", "972##", "OR"),
            City("Chicago", "606##", "IL"),
        ),
        phone="+1 512 555 01##",
        mobile="+1 212 555 01##",
        vat="",
        company_id="##-#######",
        coc="",
        sales_tax="##-########",
        companies=("{last} Supply Co.", "{city} Outfitters LLC", "{last} & Partners Inc."),
    ),
)

# Letters used in postal codes (those that do not confuse, as in the British and Dutch codes).
_POSTAL_LETTERS = "ABDEFGHJLNPRSTUWXZ"
_PERSONAL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
_ADDITIONS = ("A", "B", "bis", "2", "III", "hs")
_SECOND_LINES = ("Apartment 4", "2nd floor", "c/o reception", "Unit 12", "Building C")
_NOTES = (
    "Prefers delivery after 17:00, please ring twice",
    'Asked us to write "fragile" on every parcel',
    "Regular customer since 2015.\nAlways gift-wraps orders in December.",
    "Pays by invoice; contact accounts, not the buyer",
    'Called about order 10452: "the blue one, not the green one"',
    "Birthday in March",
    "Wholesale prices agreed by phone, see email of 12 May",
    "Returns often, check sizes before shipping\nNo parcel lockers",
)
_BAD_EMAILS = ("{local}@@example", "{local}@example..com", "{local}.example.com", "{local}@example")
_BAD_DATES = ("31/02/1990", "{d:%d/%m/%Y}", "{d:%d.%m.%Y}", "{d:%m-%d-%y}")
_BAD_BOOLEANS = ("maybe", "pending", "yes?")
_FIRST_BIRTH = date(1940, 1, 1)
_BIRTH_DAYS = (date(2007, 12, 31) - _FIRST_BIRTH).days


def fill(pattern: str, rng: random.Random) -> str:
    """The pattern with each ``#`` a random digit and each ``A`` a random letter."""
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randrange(10)))
        elif ch == "A":
            out.append(rng.choice(_POSTAL_LETTERS))
        else:
            out.append(ch)
    return "".join(out)


def ascii_slug(text: str, separator: str = "") -> str:
    """Lower-case ASCII letters and digits for email addresses ("Zoë van 't Hof" → "zoevanthof")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").lower())
    plain = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == " "))
    return separator.join(plain.split())


class CustomerMaker:
    """Makes one customer row at a time; remembers the emails it gave out (they are unique)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.made: Counter[str] = Counter()  # invalid rows per kind: their values take turns
        self.countries = list(COUNTRIES)
        self.weights = [c.weight for c in COUNTRIES]

    def valid(self) -> Row:
        """A customer that imports cleanly (always with an email, so that it matches again)."""
        rng = self.rng
        country = rng.choices(self.countries, self.weights)[0]
        female = rng.random() < 0.5
        gender = "female" if female else "male"
        first = rng.choice(country.female if female else country.male)
        last = rng.choice(country.surnames)
        city = rng.choice(country.cities)
        business = rng.random() < 0.2
        row = dict.fromkeys(KEYS, "")
        row.update(
            first_name=first,
            last_name=last,
            phone=fill(country.phone, rng) if rng.random() < 0.45 else "",
            mobile=fill(country.mobile, rng) if rng.random() < 0.8 else "",
            language=rng.choice(country.languages),
            gender=rng.choice((gender, gender, "")),
            accepts_marketing=_bool(rng.random() < 0.45),
            account_approved=_bool(rng.random() < 0.9),
            customer_type="business" if business else "private",
            tax_exempt="FALSE",
        )
        if country.uses_initials and rng.random() < 0.4:
            row["initials"] = (
                first[0] + "." + (rng.choice("AJMPW") + "." if rng.random() < 0.3 else "")
            )
        if rng.random() < 0.7:
            born = _FIRST_BIRTH + timedelta(days=rng.randrange(_BIRTH_DAYS))
            row["date_of_birth"] = born.isoformat()
        self._address(row, "invoice", country, city)
        if business:
            company = rng.choice(country.companies).format(last=last, city=city.name)
            row.update(
                company=company,
                company_id_number=fill(country.company_id, rng),
                coc_number=fill(country.coc, rng),
                vat_number=fill(country.vat, rng),
                invoice_attention=f"{first} {last}",
            )
            if rng.random() < 0.1:
                row.update(tax_exempt="TRUE", sales_tax_number=fill(country.sales_tax, rng))
            row["email"] = self._email(first, last, company)
        else:
            row["email"] = self._email(first, last, None)
        shipping = rng.random()
        if shipping < 0.3:
            for part in ("attention", "address1", "house_number", "addition", "address2"):
                row[f"shipping_{part}"] = row[f"invoice_{part}"]
            for part in ("postal_code", "city", "region", "country"):
                row[f"shipping_{part}"] = row[f"invoice_{part}"]
        elif shipping < 0.45:
            self._address(row, "shipping", country, rng.choice(country.cities))
            row["shipping_attention"] = f"{first} {last}" if business else ""
        if rng.random() < 0.25:
            row["notes"] = rng.choice(_NOTES)
        return row

    def invalid(self, kind: str, earlier: Sequence[Row]) -> Row:
        """A customer with exactly one problem, of the given kind (one of ``INVALID_KINDS``)."""
        rng = self.rng
        turn = self.made[kind]
        self.made[kind] += 1
        if kind == "duplicate_in_file":
            # The same person entered twice, the second time with the email in other case.
            original = rng.choice(earlier)
            row = dict(original)
            row["email"] = _other_case(original["email"])
            return row
        row = self.valid()
        if kind == "invalid_email":
            local = row["email"].partition("@")[0]
            row["email"] = _BAD_EMAILS[turn % len(_BAD_EMAILS)].format(local=local)
        elif kind == "missing_identity":
            # Only an address (and maybe a company): nobody to know the customer by.
            for key in ("first_name", "initials", "last_name", "email", "phone", "mobile"):
                row[key] = ""
            for key in ("invoice_attention", "shipping_attention"):
                row[key] = ""
        elif kind == "sales_tax_number_required":
            row.update(tax_exempt="TRUE", sales_tax_number="")
        elif kind == "invalid_boolean":
            row["tax_exempt"] = _BAD_BOOLEANS[turn % len(_BAD_BOOLEANS)]
        elif kind == "invalid_date":
            born = date(rng.randrange(1950, 2000), rng.randrange(1, 13), rng.randrange(13, 29))
            row["date_of_birth"] = _BAD_DATES[turn % len(_BAD_DATES)].format(d=born)
        else:
            raise ValueError(f"unknown kind of invalid row: {kind}")
        return row

    def _address(self, row: Row, prefix: str, country: Country, city: City) -> None:
        rng = self.rng
        row[f"{prefix}_address1"] = rng.choice(country.streets)
        row[f"{prefix}_house_number"] = str(rng.randint(1, 240))
        if country.code in ("NL", "BE") and rng.random() < 0.15:
            row[f"{prefix}_addition"] = rng.choice(_ADDITIONS)
        if rng.random() < 0.08:
            row[f"{prefix}_address2"] = rng.choice(_SECOND_LINES)
        row[f"{prefix}_postal_code"] = fill(city.postal, rng)
        row[f"{prefix}_city"] = city.name
        if country.code in ("US", "ES", "GB") or rng.random() < 0.5:
            row[f"{prefix}_region"] = city.region
        row[f"{prefix}_country"] = country.code

    def _email(self, first: str, last: str, company: str | None) -> str:
        rng = self.rng
        f, surname = ascii_slug(first), ascii_slug(last)
        if company is not None and rng.random() < 0.6:
            domain = ascii_slug(company, "-").replace("-bv", "").replace("-ltd", "") + ".example"
            local = rng.choice((f, f"{f}.{surname}", "info", "orders", "admin"))
        else:
            domain = rng.choice(_PERSONAL_DOMAINS)
            local = rng.choice((f"{f}.{surname}", f"{f[0]}.{surname}", f"{f}{surname}", f))
            if rng.random() < 0.3:
                local += str(rng.randint(1, 99))
        email, number = f"{local}@{domain}", 1
        while email.lower() in self.emails:
            number += 1
            email = f"{local}{number}@{domain}"
        self.emails.add(email.lower())
        if rng.random() < 0.15:  # people type their address as they like
            email = email.title() if rng.random() < 0.8 else email.upper()
        return email


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


def _other_case(email: str) -> str:
    """The same address written in another case."""
    for variant in (email.title(), email.upper(), email.lower()):
        if variant != email:
            return variant
    raise ValueError(f"{email!r} has no letters")


def invalid_positions(rows: int, invalid: int) -> list[int]:
    """Where the invalid rows go: spread evenly, never the first row."""
    if invalid == 0:
        return []
    step = rows / invalid
    return [int(step / 2 + i * step) for i in range(invalid)]


def make_rows(rows: int, invalid: int, seed: int) -> tuple[list[Row], Counter[str]]:
    """The rows of the file (field key → cell) and how many invalid rows of each kind."""
    rng = random.Random(seed)
    maker = CustomerMaker(rng)
    positions = invalid_positions(rows, invalid)
    bad = {at: INVALID_KINDS[i % len(INVALID_KINDS)] for i, at in enumerate(positions)}
    out: list[Row] = []
    valid: list[Row] = []
    kinds: Counter[str] = Counter()
    for index in range(rows):
        kind = bad.get(index)
        if kind is None:
            row = maker.valid()
            valid.append(row)
        else:
            row = maker.invalid(kind, valid)
            kinds[kind] += 1
        out.append(row)
    return out, kinds


def write_csv(stream: TextIO, rows: Sequence[Row]) -> None:
    """The header of export labels, then the rows, as a spreadsheet program writes CSV."""
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row[key] for key in KEYS])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; refuses impossible counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1000, help="data rows (default 1000)")
    parser.add_argument("--invalid", type=int, default=10, help="invalid rows (default 10)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--output", type=Path, default=None, help="CSV file (default stdout)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows cannot be negative")
    if not 0 <= args.invalid <= args.rows // 2:
        parser.error("--invalid must be between 0 and half of --rows")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Write the file and say on stderr what is in it."""
    args = parse_args(argv)
    rows, kinds = make_rows(args.rows, args.invalid, args.seed)
    if args.output is None:
        stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            write_csv(stdout, rows)
        finally:
            stdout.flush()
            stdout.detach()
        where = "stdout"
    else:
        with args.output.open("w", encoding="utf-8", newline="") as handle:
            write_csv(handle, rows)
        where = str(args.output)
    detail = ", ".join(f"{kinds[k]} {k}" for k in INVALID_KINDS if kinds[k])
    print(
        f"make_customers: wrote {len(rows)} rows to {where} (seed {args.seed}): "
        f"{len(rows) - args.invalid} valid, {args.invalid} invalid"
        + (f" ({detail})" if detail else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
