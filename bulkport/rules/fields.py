"""The customer field catalogue: each field's column, export label, kind and header aliases."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    """How a cell of this field is parsed."""

    TEXT = "text"
    EMAIL = "email"
    BOOL = "bool"
    DATE = "date"
    CHOICE = "choice"
    COUNTRY = "country"
    RECORD_ID = "record_id"
    READ_ONLY = "read_only"


@dataclass(frozen=True)
class CustomerField:
    """One customer field: its database column, its export header and the headers it answers to."""

    key: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    max_length: int = 255
    aliases: tuple[str, ...] = ()


_ADDRESS_PARTS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("attention", "Attention", 100, ("attn", "for the attention of", "fao", "t.a.v.")),
    ("address1", "Address Line 1", 255, ("address 1", "address", "street", "adres", "adresse")),
    ("house_number", "House Number", 20, ("house no", "number", "huisnummer", "numéro")),
    ("addition", "Addition", 20, ("house number addition", "toevoeging")),
    ("address2", "Address Line 2", 255, ("address 2",)),
    ("postal_code", "Postal Code", 20, ("zip", "zip code", "postcode", "code postal")),
    ("city", "City", 100, ("town", "plaats", "woonplaats", "ville")),
    ("region", "Region/State", 100, ("region", "state", "province", "county", "provincie")),
    ("country", "Country", 100, ("country code", "land", "pays")),
)


def _address(
    prefix: str, label_prefix: str, alias_prefixes: tuple[str, ...]
) -> list[CustomerField]:
    fields = []
    for part, label, max_length, aliases in _ADDRESS_PARTS:
        names = (label, *aliases)
        fields.append(
            CustomerField(
                key=f"{prefix}_{part}",
                label=f"{label_prefix}{label}",
                kind=FieldKind.COUNTRY if part == "country" else FieldKind.TEXT,
                max_length=max_length,
                aliases=tuple(f"{p} {n}" for p in alias_prefixes for n in names)
                + (() if label_prefix else aliases),
            )
        )
    return fields


FIELDS: tuple[CustomerField, ...] = (
    # No aliases: "ID", "Customer ID" or "Record ID" in another platform's export is that
    # platform's number, and matching on it would update the wrong customer.
    CustomerField("id", "Customer Record ID", FieldKind.RECORD_ID),
    CustomerField(
        "first_name",
        "First Name",
        max_length=100,
        aliases=("firstname", "first", "given name", "forename", "voornaam", "prénom", "prenom"),
    ),
    CustomerField("initials", "Initials", max_length=20, aliases=("voorletters", "initiales")),
    CustomerField(
        "last_name",
        "Last Name",
        max_length=100,
        aliases=("lastname", "surname", "family name", "achternaam", "nom", "nom de famille"),
    ),
    CustomerField(
        "email",
        "Email",
        FieldKind.EMAIL,
        max_length=254,
        aliases=("e-mail", "email address", "e-mail address", "mail", "courriel", "e-mailadres"),
    ),
    CustomerField(
        "phone",
        "Phone",
        max_length=40,
        aliases=("phone number", "telephone", "tel", "téléphone", "telefoon", "telefoonnummer"),
    ),
    CustomerField(
        "mobile",
        "Mobile Phone",
        max_length=40,
        aliases=("mobile", "mobile number", "cell", "cell phone", "gsm", "mobiel", "portable"),
    ),
    CustomerField("language", "Language", max_length=35, aliases=("taal", "langue", "locale")),
    CustomerField("gender", "Gender", max_length=20, aliases=("sex", "geslacht", "sexe")),
    CustomerField(
        "date_of_birth",
        "Date of Birth",
        FieldKind.DATE,
        aliases=("birthday", "birth date", "dob", "geboortedatum", "date de naissance"),
    ),
    CustomerField(
        "accepts_marketing",
        "Accepts Marketing Emails",
        FieldKind.BOOL,
        aliases=("accepts marketing", "accepts email marketing", "newsletter", "marketing"),
    ),
    CustomerField(
        "account_approved",
        "Account Approved",
        FieldKind.BOOL,
        aliases=("approved", "is approved"),
    ),
    CustomerField(
        "customer_type",
        "Customer Type",
        FieldKind.CHOICE,
        max_length=20,
        aliases=("klanttype", "type de client", "customer category"),
    ),
    CustomerField("company", "Company", max_length=255, aliases=("company name", "bedrijf")),
    CustomerField("company_id_number", "Company ID Number", max_length=50, aliases=("company id",)),
    CustomerField(
        "coc_number",
        "Chamber of Commerce Number",
        max_length=50,
        aliases=("coc number", "kvk", "kvk nummer", "kvk-nummer"),
    ),
    CustomerField("vat_number", "VAT Number", max_length=50, aliases=("vat", "btw nummer", "tva")),
    CustomerField("tax_exempt", "Tax Exempt", FieldKind.BOOL, aliases=("tax exemption", "exempt")),
    CustomerField(
        "sales_tax_number", "Sales Tax Number", max_length=50, aliases=("tax number", "tax id")
    ),
    *_address("invoice", "", ("invoice", "billing", "default address")),
    *_address("shipping", "Shipping ", ("shipping", "delivery")),
    CustomerField("notes", "Notes", max_length=10_000, aliases=("note", "comments", "opmerkingen")),
    CustomerField("archived", "Archived", FieldKind.READ_ONLY),
    CustomerField("created_at", "Created At", FieldKind.READ_ONLY),
    CustomerField("updated_at", "Updated At", FieldKind.READ_ONLY),
)

FIELDS_BY_KEY: dict[str, CustomerField] = {f.key: f for f in FIELDS}
WRITABLE_KEYS: tuple[str, ...] = tuple(
    f.key for f in FIELDS if f.kind not in (FieldKind.READ_ONLY, FieldKind.RECORD_ID)
)
# The template's rule: each customer has at least one of these.
IDENTITY_KEYS: tuple[str, ...] = ("first_name", "last_name", "email", "phone", "mobile")

_PUNCTUATION = re.compile(r"[^a-z0-9]+")


def fold_header(text: str) -> str:
    """A header reduced to what people mean: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _PUNCTUATION.sub("", plain)


def _header_index() -> dict[str, str]:
    from bulkport.rules.aliases import PLATFORM_ALIASES

    index: dict[str, str] = {}
    # Labels first so that an alias never shadows another field's own label; the field keys
    # too ("first_name"), but not "id", which every platform uses for its own numbers.
    for field in FIELDS:
        index.setdefault(fold_header(field.label), field.key)
        if field.kind is not FieldKind.RECORD_ID:
            index.setdefault(fold_header(field.key), field.key)
    for field in FIELDS:
        for alias in field.aliases:
            index.setdefault(fold_header(alias), field.key)
    for key, aliases in PLATFORM_ALIASES.items():
        for alias in aliases:
            index.setdefault(fold_header(alias), key)
    return index


HEADER_INDEX: dict[str, str] = _header_index()
