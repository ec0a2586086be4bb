"""Header spellings from other platforms' customer exports, and from French and Dutch staff.

``PLATFORM_ALIASES`` adds spellings (as the platforms and people write them, not folded) to the
customer fields of ``bulkport.rules.fields``. They are merged after the labels and the aliases
already in ``FIELDS``, so they never take a spelling away from those. ``KNOWN_UNMAPPED`` lists
columns those exports carry that are not customer fields of ours: they must stay unmapped, so
an import lists them as ignored.

Where each list came from (stored copies of public documentation and code, read while writing
this; every header row is also written out in ``tests/unit/test_platform_headers.py``):

- Shopify: the customers CSV row ("Customer ID, First Name, Last Name, Email, Accepts Email
  Marketing, Default Address Company, Default Address Address1, ..., Default Address Zip, Default
  Address Phone, Phone, Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt,
  Tags") as several importers of real exports read it, and the older row ("First Name, Last
  Name, Email, Company, Address1, Address2, City, Province, Province Code, Country, Country
  Code, Zip, Phone, Accepts Marketing, Total Spent, Total Orders, Tags, Note, Tax Exempt").
- WooCommerce: "Customer / Order / Coupon Export" (SkyVerge), the customer CSV headers of its
  generator (``get_customers_csv_headers``, default format, and the columns of version 5:
  user_login, user_pass, billing_full_name, billing_state_code, total_spent, order_count, ...).
- Magento 2 / Adobe Commerce: "Customer Attribute Reference" (Customers Main File and Customer
  Addresses) and the sample files customer.csv, customer_address.csv and customer_composite.csv
  of ``Magento_ImportExport``.
- PrestaShop: "Your customers" (1.6 user guide: "ID;Title;Last name;First Name;Email address;
  Age;Enabled;News.;Opt.;Registration;Last visit") and the list columns that the 1.7 back office
  exports (AdminCustomersController, AdminAddressesController: "Zip/postal code").
- Lightspeed eCom (C-Series): "Customer column titles" (Firstname, LastnamePreposition, E-Mail,
  Attn, Streetname, Number, Extension, Zipcode, Shipping Streetname, ...).
- Lightspeed Retail X-Series (Vend): the customer fields of the X-Series API 2.0 and "How can I
  edit Customer details via CSV?" (customer_code, loyalty_balance, store_credit_balance, ...).
- Lightspeed Retail R-Series: no export header row was found; only the spellings the customer
  form uses (Home Phone, Work Phone, Mobile, Company, Birthday, Zip) are covered.
- Square: the customer export columns (Reference ID, Email Address, Street Address 1, Memo,
  Square Customer ID, Email Subscription Status, ...) and "Import Customers Online".
- Wix: the contacts export (Email 1, Phone 1, Address 1 - Street, Address 1 - Zip, ...,
  Email subscriber status, Created At (UTC+0)).
- BigCommerce: "Importing and Exporting Customers" (Bulk Edit export: Customer ID, Store Credit,
  Customer Group, Date Joined, Addresses, Receive Review/Abandoned Cart Emails?, Tax Exempt
  Category) and its per-address import columns (Address Line 1 - 1, Address Zip - 1, ...).
- Mailchimp: the audience export (Email Address, First Name, Last Name, Address, Phone Number,
  MEMBER_RATING, OPTIN_TIME, ..., CC, REGION, LAST_CHANGED, LEID, EUID, NOTES, TAGS).
- HubSpot: the contacts export, default view and all properties (Record ID, Street Address,
  State/Region, Country/Region, Mobile Phone Number, Preferred language, ...).
- Odoo: the res.partner field names an import-compatible export writes ("Export and import
  data"): street2, state_id, country_id, comment, lang, ...
- French and Dutch: the spellings store staff use (Adresse e-mail, Téléphone portable, Société,
  Numéro de TVA, N° SIRET, Mobiel nummer, Straat, Bedrijfsnaam, Nieuwsbrief, ...).

Rules followed: a header is mapped only when its meaning for a customer record is clear. A
contact name, phone or company attached to an address feeds the customer's own field only where
the platform has no customer-level column for it (WooCommerce billing_*, Magento _address_*,
Shopify "Default Address Company"); shipping recipients never do. Marketing columns whose values
are not yes/no (Square and Wix subscription statuses, HubSpot marketing contact status) or whose
meaning is inverted (Vend do_not_email, HubSpot "Unsubscribed from all email") stay unmapped.
"""

from __future__ import annotations

# Field key -> extra spellings. Comments say which platform writes each and why it is mapped.
PLATFORM_ALIASES: dict[str, tuple[str, ...]] = {
    # WooCommerce has a customer-level first_name/last_name, which wins (these two are in
    # FALLBACK_HEADERS). The billing contact's name is the fallback for rows and files that
    # only carry billing columns (guest customers, user exports): our
    # record has no billing-contact name of its own (Attention is one cell, not first + last).
    # Shipping recipients (shipping_first_name, Magento _address_firstname, BigCommerce "Address
    # First Name - 1") are left out: they may be someone else.
    "first_name": ("billing_first_name",),
    "last_name": ("billing_last_name",),
    "email": (
        "Email 1",  # Wix contacts: the first (primary) address
        "Adresse e-mail",
        "Adresse mail",
        "Adresse électronique",
    ),
    "phone": (
        "billing_phone",  # WooCommerce: customers have no other phone
        "_address_telephone",  # Magento composite: customers have no other phone
        "Phone 1",  # Wix contacts
        "Home Phone",  # Lightspeed Retail R-Series
        "Numéro de téléphone",
        "Téléphone fixe",
    ),
    "mobile": (
        "Mobile Phone Number",  # HubSpot
        "Téléphone portable",
        "Téléphone mobile",
        "Mobiel nummer",
        "Mobiel telefoonnummer",
        "Mobiele telefoon",
        "GSM-nummer",
    ),
    "language": (
        "Preferred language",  # HubSpot
        "lang",  # Odoo
    ),
    "accepts_marketing": ("Nieuwsbrief",),
    "company": (
        "Default Address Company",  # Shopify: the customers CSV has no other company column
        "billing_company",  # WooCommerce: idem
        "_address_company",  # Magento composite: idem
        "Société",
        "Nom de la société",
        "Raison sociale",
        "Bedrijfsnaam",
    ),
    # SIRET is the French establishment number, the "identification number" of the company.
    "company_id_number": ("SIRET", "N° SIRET", "No SIRET", "Numéro SIRET"),
    "vat_number": (
        "taxvat",  # Magento customer "Tax/VAT number"
        "vat_id",  # Magento address
        "_address_vat_id",  # Magento composite
        "Numéro de TVA",
        "N° TVA",
        "TVA intracommunautaire",
        "N° TVA intracommunautaire",
        "Numéro de TVA intracommunautaire",
        "Btw-id",
        "Btw-identificatienummer",
        # Left out: "Tax ID" (Odoo's label for its VAT field, eCom's import name for the VAT
        # number) and "Tax number": fields.py maps both to sales_tax_number.
    ),
    "invoice_address1": (
        "_address_street",  # Magento composite
        "Street Address",  # HubSpot
        "Street Address 1",  # Square
        "Streetname",  # Lightspeed eCom (folds like "Street name")
        "Address 1 - Street",  # Wix contacts: the first address
        "Address Line 1 - 1",  # BigCommerce import: the first address
        "Straat",
        "Straatnaam",
        "Adresse 1",
        "Adresse ligne 1",
    ),
    "invoice_house_number": ("Huisnr",),
    "invoice_addition": ("Huisnummer toevoeging",),
    # Left out: bare "Extension" (eCom's house-number addition, but elsewhere a phone
    # extension); only "Shipping Extension" below is unambiguous.
    "invoice_address2": (
        "street2",  # Odoo
        "Street Address 2",  # Square
        "Address 1 - Street Line 2",  # Wix contacts
        "Address Line 2 - 1",  # BigCommerce import
        "Adresse 2",
        "Adresse ligne 2",
        "Complément d'adresse",
    ),
    "invoice_postal_code": (
        "_address_postcode",  # Magento composite
        "Zip/Postal code",  # PrestaShop addresses
        "Address 1 - Zip",  # Wix contacts
        "Address Zip - 1",  # BigCommerce import
    ),
    "invoice_city": (
        "_address_city",  # Magento composite
        "Address 1 - City",  # Wix contacts
        "Address City - 1",  # BigCommerce import
    ),
    "invoice_region": (
        "Default Address Province Code",  # Shopify
        "Province Code",  # Shopify, older export
        "billing_state_code",  # WooCommerce
        "_address_region",  # Magento composite
        "State/Region",  # HubSpot
        "state_id",  # Odoo
        "Address 1 - State/Region",  # Wix contacts
        "Address State - 1",  # BigCommerce import
    ),
    "invoice_country": (
        "country_id",  # Magento address (ISO code), Odoo
        "_address_country_id",  # Magento composite
        "Country/Region",  # HubSpot
        "Address 1 - Country",  # Wix contacts
        "Address Country - 1",  # BigCommerce import
    ),
    "shipping_address1": ("Shipping Streetname",),  # Lightspeed eCom
    "shipping_addition": ("Shipping Extension",),  # Lightspeed eCom
    "shipping_region": ("shipping_state_code",),  # WooCommerce
    "notes": (
        "Memo",  # Square
        "comment",  # Odoo: the partner's internal notes
        "Commentaire",
        "Remarques",
        "Opmerking",
    ),
}

# Headers that platforms write beside another column for the same field, holding a second form
# of it (a code beside a name) or another person's value (the billing contact beside the
# customer). Where a file has such a column and another for its field, it only fills the field
# in rows where the other is blank: two different values there are no conflict to report.
FALLBACK_HEADERS: tuple[str, ...] = (
    "billing_first_name",  # WooCommerce, beside first_name
    "billing_last_name",  # WooCommerce, beside last_name
    "billing_state_code",  # WooCommerce, beside billing_state
    "shipping_state_code",  # WooCommerce, beside shipping_state
    "Province Code",  # Shopify, older export, beside Province
    "Default Address Province Code",  # Shopify
    "Country Code",  # Shopify, older export, beside Country
    "Default Address Country Code",  # Shopify
    "_address_vat_id",  # Magento composite, beside taxvat
)

# Columns seen in those exports that are no customer field of ours. They must stay unmapped
# (an import lists them as ignored); tests/unit/test_platform_headers.py checks that they are.
KNOWN_UNMAPPED: tuple[str, ...] = (
    # The Dutch name infix ("van der"). Not a field of ours; a later change may join it into
    # Last Name ("van der Berg") rather than drop it.
    "Tussenvoegsel",
    "LastnamePreposition",  # Lightspeed eCom's column for the same infix
    "middlename",  # Magento
    "_address_middlename",
    # Full names, titles and name parts we do not keep.
    "name",  # Odoo, Vend: the full name
    "billing_full_name",
    "shipping_full_name",
    "Nickname",
    "Title",
    "Social title",
    "Civilité",
    "Aanhef",
    "Salutation",
    "prefix",  # Magento name prefix (Mr., Dr.)
    "title",  # Odoo
    "function",  # Odoo job position
    "Job Title",
    "Age",  # PrestaShop 1.6: derived from the birthday
    # Shipping recipients, and address contacts where the customer has a column of its own.
    "shipping_first_name",
    "shipping_last_name",
    "shipping_company",
    "Shipping company",  # Lightspeed eCom
    "_address_firstname",
    "_address_lastname",
    "Address First Name - 1",
    "Address Last Name - 1",
    "Address Company - 1",
    "Address Phone - 1",
    "Default Address Phone",  # Shopify: it would otherwise take Phone, which comes after it
    "billing_email",  # WooCommerce: not the account's email, and email is the match key
    # Other platforms' identifiers: never our Customer Record ID.
    "_entity_id",
    "Address ID - 1",
    "customer_code",  # Vend
    "Internal ID",  # Lightspeed eCom
    "Reference ID",  # Square
    "Square Customer ID",
    "LEID",
    "EUID",
    "Primary Associated Company ID",
    "user_login",
    "ref",  # Odoo
    # Secrets.
    "Password",
    "password",
    "password_hash",
    "user_pass",
    "rp_token",
    "rp_token_created_at",
    # Money, orders and loyalty.
    "Total Spent",
    "Total Orders",
    "total_spent",
    "order_count",
    "Sales",
    "Lifetime Spend",
    "Transaction Count",
    "Store Credit",
    "store_credit_balance",
    "loyalty_balance",
    "balance",
    "year_to_date",
    "enable_loyalty",
    # Groups, tags, labels, owners, stores.
    "Tags",
    "TAGS",
    "Labels",
    "Customer Group",
    "group_id",
    "customer_group_id",
    "category_id",
    "Contact owner",
    "Associated Company",  # HubSpot: the linked company record, not the company name field
    "_website",
    "_store",
    "website_id",
    "store_id",
    "created_in",
    # Consent that is not our yes/no "accepts marketing emails".
    "Accepts SMS Marketing",
    "SMS subscriber status",
    "Email Subscription Status",  # Square: Subscribed / Unsubscribed / Unknown
    "Email subscriber status",  # Wix: Subscribed / Never subscribed / Unsubscribed
    "Marketing contact status",  # HubSpot: a billing tier, not consent
    "Unsubscribed from all email",  # HubSpot: inverted
    "do_not_email",  # Vend: inverted
    "Partner offers",  # PrestaShop: third-party offers
    "Opt.",
    "News.",  # PrestaShop 1.6 "Newsletter": too short a word to map everywhere; map by hand
    "Receive Review/Abandoned Cart Emails?",  # BigCommerce: not newsletter consent
    # A tax category code is not the yes/no Tax Exempt.
    "Tax Exempt Category",
    # Dates and activity.
    "date_registered",
    "Date Joined",
    "Registration",
    "Registered",
    "Last visit",
    "First Visit",
    "Last Visit",
    "Create Date",
    "Created At (UTC+0)",
    "Last Activity",
    "Last Activity Date",
    "OPTIN_TIME",
    "CONFIRM_TIME",
    "LAST_CHANGED",
    # Account state that is not Account Approved.
    "Enabled",
    "confirmation",
    "disable_auto_group_change",
    "Lead Status",
    "Instant Profile",
    "Blocked from online booking",
    "Creation Source",
    "Source",
    # Contact channels we do not keep.
    "fax",
    "Fax Number",
    "website",
    "twitter",
    "Work Phone",  # Lightspeed R-Series: our Phone is the customer's own number
    "Phone 2",
    "Phone 3",
    # Geolocation of the sign-up, not the customer's address (Mailchimp).
    "CC",
    "TIMEZONE",
    "LATITUDE",
    "LONGITUDE",
    "MEMBER_RATING",
    # Vend's physical and postal addresses: neither is clearly our invoice or our shipping
    # address, so a Vend import maps them by hand.
    "physical_address_1",
    "physical_postcode",
    "postal_address_1",
    "postal_postcode",
    # Address types and flags, and BigCommerce's one-cell list of every address.
    "Addresses",
    "Address 1 - Type",
    "_address_default_billing_",
    "_address_default_shipping_",
    "region_id",
    "is_company",
)
