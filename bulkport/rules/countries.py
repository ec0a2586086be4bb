"""Countries as people type them, turned into ISO 3166-1 alpha-2 codes.

The lookup table is built once, on first use, from pycountry's ISO 3166-1 data (codes, English
names and their French, Dutch and German translations) and a few names ISO does not list
("Holland", "UK", "England", "Ivory Coast"). A folded name that two countries would claim, such
as "Korea" or "Congo", is left out: an import never guesses a customer's country.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from functools import cache

import pycountry

from bulkport.rules.fields import fold_header

# The languages of the stores' staff and customers, besides English.
TRANSLATIONS = ("fr", "nl", "de")

# Names in common use that ISO 3166-1 and its translations do not give.
_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "AE": ("UAE", "Emirates"),
    "BA": ("Bosnia",),
    "CD": ("DR Congo", "DRC", "Congo-Kinshasa", "Democratic Republic of Congo"),
    "CG": ("Congo-Brazzaville",),
    "CI": ("Ivory Coast", "Elfenbeinküste"),
    "CV": ("Cape Verde",),
    "GB": (
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Grande-Bretagne",
        "Angleterre",
        "Écosse",
        "Pays de Galles",
        "Irlande du Nord",
        "Groot-Brittannië",
        "Engeland",
        "Schotland",
        "Noord-Ierland",
        "Großbritannien",
        "Schottland",
        "Nordirland",
    ),
    "MK": ("Macedonia",),
    "MM": ("Burma",),
    "NL": ("Holland", "Hollande"),
    "RU": ("Russia", "Russland"),
    "SZ": ("Swaziland",),
    "TL": ("East Timor",),
    "TR": ("Turkey",),
    "US": ("U.S.", "U.S.A."),
    "VA": ("Vatican", "Vatican City"),
}

# Names more than one country answers to, though ISO's data gives them to one or none.
_AMBIGUOUS = ("America", "Amérique", "Amerika", "Îles Vierges")

# A leading article: "The Netherlands", "les Pays-Bas", "de Verenigde Staten", "l'Allemagne".
_ARTICLE = re.compile(r"^\s*(?:(?:the|la|le|les|de|het)\s+|l\s*['’]\s*)", re.IGNORECASE)
_PARENTHESES = re.compile(r"^(.*?)\s*\((.*)\)\s*$")
_CODE = re.compile(r"[A-Za-z]{2,3}")
_SAINT = re.compile(r"^Saint\b", re.IGNORECASE)


def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country as typed ("nl", "NLD", "Pays-Bas"), or None."""
    codes, names = _country_index()
    written = text.strip()
    # Codes only as written: folded, "N/A" would be Namibia.
    code = codes.get(written.upper()) if _CODE.fullmatch(written) else None
    return code or names.get(fold_country(written))


def fold_country(text: str) -> str:
    """A country name reduced to what people mean: no leading article, case, accents or spaces."""
    # Stripped first, so that "DE " and "LA " stay codes and do not lose an "article".
    return fold_header(_ARTICLE.sub("", text.strip(), count=1).casefold())


@cache
def _country_index() -> tuple[dict[str, str], dict[str, str]]:
    """Alpha-2 and alpha-3 codes to alpha-2, and folded names to alpha-2 (ambiguous ones left
    out); built once, on first use, in about 10 ms."""
    codes: dict[str, str] = {}
    for country in pycountry.countries:
        codes[country.alpha_2] = country.alpha_2
        codes[country.alpha_3] = country.alpha_2
    claims: dict[str, set[str]] = {}
    for code, name in _country_names():
        key = fold_country(name)
        if key:
            claims.setdefault(key, set()).add(code)
    for name in _AMBIGUOUS:
        claims[fold_country(name)] = set()
    names = {key: claimed.pop() for key, claimed in claims.items() if len(claimed) == 1}
    return codes, names


def _country_names() -> Iterator[tuple[str, str]]:
    """Every (code, name) pair: ISO's names in English and translated, and the extra names."""
    languages = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in TRANSLATIONS
    ]
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            english = getattr(country, attribute, None)
            if english is None:
                continue
            for name in (english, *(language.gettext(english) for language in languages)):
                for variant in _name_variants(name):
                    yield country.alpha_2, variant
    for code, names in _EXTRA_NAMES.items():
        for name in names:
            yield code, name


def _name_variants(name: str) -> Iterator[str]:
    """ISO writes "Korea, Republic of", "Holy See (Vatican City State)" and "Saint Lucia";
    people write "Republic of Korea", "Korea", "Holy See", "Vatican City State", "St Lucia"."""
    names = [name]
    parenthesised = _PARENTHESES.match(name)
    if parenthesised:
        names.extend(parenthesised.groups())
    head, comma, tail = name.partition(", ")
    if comma:
        names.extend((head, f"{tail} {head}"))
    for variant in names:
        yield variant
        if _SAINT.match(variant):
            yield _SAINT.sub("St", variant, count=1)
