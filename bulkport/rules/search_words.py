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
from functools import lru_cache
from typing import Any

import phonenumbers

# The fields a customer is found by.
SEARCHED_KEYS: tuple[str, ...] = ("first_name", "last_name", "company", "email", "phone", "mobile")
_PHONE_KEYS = ("phone", "mobile")
_NAME_KEYS = ("first_name", "last_name", "company")
# Letters and digits in any script; an underscore, like any other mark, separates words.
_WORD = re.compile(r"[^\W_]+")
_PHONE_TYPED = re.compile(r"[\d\s+\-./()]*\d[\d\s+\-./()]*")
_NOT_DIGIT = re.compile(r"\D")
# Country calling codes are one to three digits long.
_LONGEST_COUNTRY_CODE = 3


@lru_cache(maxsize=65_536)
def _words(text: str) -> tuple[str, ...]:
    """Words of ``text``, case and accents folded ("Müller" is found by "muller"); names and
    companies repeat, so each distinct text is folded once."""
    if text.isascii():
        return tuple(_WORD.findall(text.lower()))
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return tuple(_WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c))))


def _phone_words(phone: str) -> list[str]:
    """A stored number's digits, in the forms a typed number's national significant number
    begins one of: after the trunk prefix of a national number; after a country code of
    one to three digits of an international one (``+`` or ``00``)."""
    digits = _NOT_DIGIT.sub("", phone)
    if phone.lstrip().startswith("+") or digits.startswith("00"):
        bare = digits.lstrip("0")
        return [bare[n:] for n in range(_LONGEST_COUNTRY_CODE + 1) if bare[n:]]
    if digits.startswith("0"):
        return [digits, digits[1:]] if len(digits) > 1 else [digits]
    return [digits] if digits else []


def customer_words(values: Mapping[Any, Any]) -> str | None:
    """A customer's words, space-separated, each once; None when there are none."""
    get = values.get
    words: list[str] = []
    for key in _NAME_KEYS:
        if text := get(key):
            words.extend(_words(text))
    if email := get("email"):
        # Emails are each customer's own: folded without the cache the repeating names use.
        words.extend(_WORD.findall(email.lower()) if email.isascii() else _words(email))
    for key in _PHONE_KEYS:
        if phone := get(key):
            words.extend(_phone_words(phone))
    return " ".join(dict.fromkeys(words)) or None


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
