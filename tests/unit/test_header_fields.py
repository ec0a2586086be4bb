"""Header folding and the header index: which spreadsheet header feeds which customer field."""

from __future__ import annotations

import pytest

from bulkport.rules.fields import FIELDS, HEADER_INDEX, CustomerField, fold_header

INVOICE_FIELDS = [f for f in FIELDS if f.key.startswith("invoice_")]
SHIPPING_FIELDS = [f for f in FIELDS if f.key.startswith("shipping_")]


def field_id(field: CustomerField) -> str:
    return field.key


@pytest.mark.parametrize(
    ("header", "folded"),
    [
        ("Email", "email"),
        ("EMAIL", "email"),
        ("  First Name  ", "firstname"),
        ("first_name", "firstname"),
        ("First-Name", "firstname"),
        ("E-mail", "email"),
        ("T.a.v.", "tav"),
        ("Prénom", "prenom"),
        ("TÉLÉPHONE", "telephone"),
        ("Région/État", "regionetat"),
        ("Code  postal", "codepostal"),
        ("First\u00a0Name", "firstname"),
        ("\ufeffFirst Name", "firstname"),
        ("Date of Birth (YYYY-MM-DD)", "dateofbirthyyyymmdd"),
        ("Address Line 1", "addressline1"),
        ("", ""),
        ("  ", ""),
    ],
)
def test_fold_header_drops_case_accents_spaces_and_punctuation(header: str, folded: str) -> None:
    assert fold_header(header) == folded


def test_fold_header_keeps_digits_apart() -> None:
    assert fold_header("Address Line 1") != fold_header("Address Line 2")


def test_fold_header_keeps_letters_that_change_the_meaning() -> None:
    assert fold_header("Phone") != fold_header("Mobile Phone")


@pytest.mark.parametrize("field", FIELDS, ids=field_id)
def test_every_export_label_maps_to_its_own_field(field: CustomerField) -> None:
    assert HEADER_INDEX[fold_header(field.label)] == field.key


@pytest.mark.parametrize("field", [f for f in FIELDS if f.key != "id"], ids=field_id)
def test_every_database_column_name_maps_to_its_own_field(field: CustomerField) -> None:
    assert HEADER_INDEX[fold_header(field.key)] == field.key


@pytest.mark.parametrize("header", ["ID", "id", "Customer ID", "Record ID", "Klantnummer"])
def test_only_our_own_label_names_the_customer_record_id(header: str) -> None:
    # Other platforms' exports carry their own ids under these names.
    assert HEADER_INDEX.get(fold_header(header)) != "id"


@pytest.mark.parametrize(
    ("header", "key"),
    [
        # The labels that look most like another field's alias keep their own field.
        ("Phone", "phone"),
        ("Mobile Phone", "mobile"),
        ("Company", "company"),
        ("Company ID Number", "company_id_number"),
        ("Customer Type", "customer_type"),
        ("Tax Exempt", "tax_exempt"),
        ("Sales Tax Number", "sales_tax_number"),
        ("VAT Number", "vat_number"),
        ("Region/State", "invoice_region"),
        ("House Number", "invoice_house_number"),
        ("Customer Record ID", "id"),
    ],
)
def test_labels_are_never_shadowed_by_aliases(header: str, key: str) -> None:
    assert HEADER_INDEX[fold_header(header)] == key


@pytest.mark.parametrize(
    ("header", "key"),
    [
        # English variants
        ("E-mail Address", "email"),
        ("email address", "email"),
        ("Given Name", "first_name"),
        ("FirstName", "first_name"),
        ("Surname", "last_name"),
        ("Family name", "last_name"),
        ("Phone Number", "phone"),
        ("Telephone", "phone"),
        ("Cell Phone", "mobile"),
        ("Birthday", "date_of_birth"),
        ("DOB", "date_of_birth"),
        ("Accepts Marketing", "accepts_marketing"),
        ("Newsletter", "accepts_marketing"),
        ("Approved", "account_approved"),
        ("Company Name", "company"),
        ("Tax ID", "sales_tax_number"),
        ("Zip Code", "invoice_postal_code"),
        ("State", "invoice_region"),
        ("Street", "invoice_address1"),
        ("Comments", "notes"),
        # French
        ("Prénom", "first_name"),
        ("Prenom", "first_name"),
        ("Nom", "last_name"),
        ("Nom de famille", "last_name"),
        ("Courriel", "email"),
        ("Téléphone", "phone"),
        ("Portable", "mobile"),
        ("Langue", "language"),
        ("Sexe", "gender"),
        ("Date de naissance", "date_of_birth"),
        ("Type de client", "customer_type"),
        ("TVA", "vat_number"),
        ("Adresse", "invoice_address1"),
        ("Numéro", "invoice_house_number"),
        ("Code postal", "invoice_postal_code"),
        ("Ville", "invoice_city"),
        ("Pays", "invoice_country"),
        # Dutch
        ("Voornaam", "first_name"),
        ("Voorletters", "initials"),
        ("Achternaam", "last_name"),
        ("E-mailadres", "email"),
        ("Telefoonnummer", "phone"),
        ("Mobiel", "mobile"),
        ("Taal", "language"),
        ("Geslacht", "gender"),
        ("Geboortedatum", "date_of_birth"),
        ("Klanttype", "customer_type"),
        ("Bedrijf", "company"),
        ("KvK-nummer", "coc_number"),
        ("BTW nummer", "vat_number"),
        ("T.a.v.", "invoice_attention"),
        ("Adres", "invoice_address1"),
        ("Huisnummer", "invoice_house_number"),
        ("Toevoeging", "invoice_addition"),
        ("Postcode", "invoice_postal_code"),
        ("Woonplaats", "invoice_city"),
        ("Provincie", "invoice_region"),
        ("Land", "invoice_country"),
        ("Opmerkingen", "notes"),
    ],
)
def test_aliases_in_english_french_and_dutch_map_to_their_field(header: str, key: str) -> None:
    assert HEADER_INDEX[fold_header(header)] == key


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Billing Address Line 1", "invoice_address1"),
        ("Billing Address", "invoice_address1"),
        ("Billing Address 2", "invoice_address2"),
        ("Billing House Number", "invoice_house_number"),
        ("Billing Zip", "invoice_postal_code"),
        ("Billing City", "invoice_city"),
        ("Billing State", "invoice_region"),
        ("Billing Country", "invoice_country"),
        ("Invoice Postal Code", "invoice_postal_code"),
        ("Default Address Address1", "invoice_address1"),
        ("Default Address City", "invoice_city"),
        ("Default Address Zip", "invoice_postal_code"),
        ("Address Line 1", "invoice_address1"),
        ("City", "invoice_city"),
        ("Shipping Attention", "shipping_attention"),
        ("Shipping Address Line 1", "shipping_address1"),
        ("Shipping Address", "shipping_address1"),
        ("Shipping Address 2", "shipping_address2"),
        ("Shipping House Number", "shipping_house_number"),
        ("Shipping Addition", "shipping_addition"),
        ("Shipping Zip", "shipping_postal_code"),
        ("Shipping Postal Code", "shipping_postal_code"),
        ("Shipping City", "shipping_city"),
        ("Shipping State", "shipping_region"),
        ("Shipping Region/State", "shipping_region"),
        ("Shipping Country", "shipping_country"),
        ("Delivery Postcode", "shipping_postal_code"),
        ("Delivery City", "shipping_city"),
    ],
)
def test_billing_headers_go_to_invoice_fields_and_shipping_headers_to_shipping_fields(
    header: str, key: str
) -> None:
    assert HEADER_INDEX[fold_header(header)] == key


@pytest.mark.parametrize("field", SHIPPING_FIELDS, ids=field_id)
def test_no_shipping_header_feeds_an_invoice_field(field: CustomerField) -> None:
    for header in (field.label, *field.aliases):
        assert HEADER_INDEX[fold_header(header)] == field.key, header


@pytest.mark.parametrize("field", INVOICE_FIELDS, ids=field_id)
def test_billing_prefixed_aliases_feed_the_invoice_field(field: CustomerField) -> None:
    billing = [a for a in field.aliases if a.startswith("billing ")]
    assert billing
    for header in billing:
        assert HEADER_INDEX[fold_header(header)] == field.key, header


@pytest.mark.parametrize("header", ["Loyalty Points", "Favourite Colour", "Shipping Method"])
def test_unknown_headers_are_not_in_the_index(header: str) -> None:
    assert fold_header(header) not in HEADER_INDEX
