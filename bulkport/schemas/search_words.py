"""The words a customer is found by, and the words a search asks for.

A customer's words are their names, company and email cut at every space and punctuation mark,
case and accents folded, and their phone numbers as digits with and without the country code
and trunk prefix. A search finds a customer when each word typed begins one of the customer's
words; a search that is a phone number finds the customer whatever way either was written
(``0401234567``, ``+31 40 123 4567``, ``0031 40-1234567``). Both databases compare the same
words, so they answer the same customers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import phonenumbers

# The fields a customer is found by.
SEARCHED_KEYS: tuple[str, ...] = ("first_name", "last_name", "company", "email", "phone", "mobile")
_PHONE_KEYS = ("phone", "mobile")
# Letters and digits in any script; an underscore, like any other mark, separates words.
_WORD = re.compile(r"[^\W_]+")
_PHONE_TYPED = re.compile(r"[\d\s+\-./()]*\d[\d\s+\-./()]*")
_NOT_DIGIT = re.compile(r"\D")
# Country calling codes are one to three digits long.
_LONGEST_COUNTRY_CODE = 3


def _words(text: str) -> list[str]:
    """Words of ``text``, case and accents folded ("Müller" is found by "muller")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(bare)


def _phone_words(phone: str) -> list[str]:
    """A stored number's digits, and the same with the trunk prefix and then one to three
    leading digits (a country code) dropped: whichever way the number was stored, its
    national significant number is one of them."""
    digits = _NOT_DIGIT.sub("", phone)
    bare = digits.lstrip("0")
    forms = [digits, bare, *(bare[n:] for n in range(1, _LONGEST_COUNTRY_CODE + 1))]
    return [form for form in forms if form]


def customer_words(values: Mapping[Any, Any]) -> str | None:
    """A customer's words, space-separated, each once; None when there are none."""
    found: dict[str, None] = {}
    for key in SEARCHED_KEYS:
        value = values.get(key)
        if isinstance(value, str) and value:
            words = _phone_words(value) if key in _PHONE_KEYS else _words(value)
            found.update(dict.fromkeys(words))
    return " ".join(found) or None


def query_terms(text: str, country: str | None) -> list[frozenset[str]]:
    """What a search asks for: every group must match, a group by any of its words (each the
    beginning of a customer's word). ``country`` (ISO 3166 alpha-2) reads a number written
    the national way, as the store's staff write them."""
    if _PHONE_TYPED.fullmatch(text.strip()):
        return [_phone_terms(text, country)]
    return [_digit_terms(w) if w.isdigit() else frozenset({w}) for w in _words(text)]


def _digit_terms(digits: str) -> frozenset[str]:
    # "0401234567" begins the national form; without its trunk prefix, the international one.
    return frozenset(form for form in (digits, digits.lstrip("0")) if form)


def _phone_terms(text: str, country: str | None) -> frozenset[str]:
    """A typed number: its national significant number as phonenumbers reads it, and its
    digits (an incomplete number, or one the library cannot place)."""
    digits = _NOT_DIGIT.sub("", text)
    terms = set(_digit_terms(digits))
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return frozenset(terms)
    if phonenumbers.is_possible_number(number):
        terms.add(phonenumbers.national_significant_number(number))
    return frozenset(terms)
