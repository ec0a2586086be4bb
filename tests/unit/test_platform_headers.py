"""Other platforms' customer exports: which of their columns feed which customer field.

Each row below is a platform's customer export header row as found in its documentation or in
code that reads real exports (see the docstring of ``bulkport.rules.aliases``). Headers are
looked up the way the importer will once the platform aliases are merged: labels and the
aliases of ``FIELDS`` first, the platform aliases only for spellings still free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from bulkport.rules.aliases import KNOWN_UNMAPPED, PLATFORM_ALIASES
from bulkport.rules.fields import FIELDS_BY_KEY, HEADER_INDEX, FieldKind, fold_header

# The lookup as the other half of this change merges it: existing entries win.
LOOKUP: dict[str, str] = {
    **{fold_header(a): key for key, aliases in PLATFORM_ALIASES.items() for a in aliases},
    **HEADER_INDEX,
}


def field_for(header: str) -> str | None:
    return LOOKUP.get(fold_header(header))


# Headers that are not customer fields of ours but that fields.py already maps, so the platform
# aliases cannot leave them out. Each would import the wrong thing; see the test at the end.
FIELDS_PY_MISMAPS: tuple[tuple[str, str, str], ...] = (
    ("Customer ID", "id", "Shopify's and BigCommerce's own customer id, not ours"),
    ("customer_id", "id", "WooCommerce's WordPress user id: small numbers that may be ours"),
    ("Record ID", "id", "HubSpot's contact id"),
    ("ID", "id", "PrestaShop's customer id, and the address id in its addresses export"),
    ("id", "id", "Vend's UUID, Odoo's external id (__export__.res_partner_7_...)"),
    ("suffix", "invoice_addition", "Magento's name suffix (Jr., Sr.), not a house number"),
    ("type", "customer_type", "Odoo's address type (contact, invoice, delivery)"),
)
_MISMAPPED = {fold_header(header) for header, _, _ in FIELDS_PY_MISMAPS}


@dataclass(frozen=True)
class ExportRow:
    """A platform's header row and the field each header must feed (others feed none)."""

    name: str
    headers: tuple[str, ...]
    mapped: Mapping[str, str] = field(default_factory=dict)


SHOPIFY = ExportRow(
    "shopify-customers",
    (
        "Customer ID",
        "First Name",
        "Last Name",
        "Email",
        "Accepts Email Marketing",
        "Default Address Company",
        "Default Address Address1",
        "Default Address Address2",
        "Default Address City",
        "Default Address Province Code",
        "Default Address Country Code",
        "Default Address Zip",
        "Default Address Phone",
        "Phone",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Note",
        "Tax Exempt",
        "Tags",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Accepts Email Marketing": "accepts_marketing",
        "Default Address Company": "company",
        "Default Address Address1": "invoice_address1",
        "Default Address Address2": "invoice_address2",
        "Default Address City": "invoice_city",
        "Default Address Province Code": "invoice_region",
        "Default Address Country Code": "invoice_country",
        "Default Address Zip": "invoice_postal_code",
        "Phone": "phone",
        "Note": "notes",
        "Tax Exempt": "tax_exempt",
    },
)

SHOPIFY_OLDER = ExportRow(
    "shopify-customers-older",
    (
        "First Name",
        "Last Name",
        "Email",
        "Company",
        "Address1",
        "Address2",
        "City",
        "Province",
        "Province Code",
        "Country",
        "Country Code",
        "Zip",
        "Phone",
        "Accepts Marketing",
        "Total Spent",
        "Total Orders",
        "Tags",
        "Note",
        "Tax Exempt",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Company": "company",
        "Address1": "invoice_address1",
        "Address2": "invoice_address2",
        "City": "invoice_city",
        "Province": "invoice_region",
        "Province Code": "invoice_region",
        "Country": "invoice_country",
        "Country Code": "invoice_country",
        "Zip": "invoice_postal_code",
        "Phone": "phone",
        "Accepts Marketing": "accepts_marketing",
        "Note": "notes",
        "Tax Exempt": "tax_exempt",
    },
)

WOOCOMMERCE = ExportRow(
    "woocommerce-customer-order-csv-export",
    (
        "customer_id",
        "first_name",
        "last_name",
        "user_login",
        "email",
        "user_pass",
        "date_registered",
        "billing_first_name",
        "billing_last_name",
        "billing_full_name",
        "billing_company",
        "billing_email",
        "billing_phone",
        "billing_address_1",
        "billing_address_2",
        "billing_postcode",
        "billing_city",
        "billing_state",
        "billing_state_code",
        "billing_country",
        "shipping_first_name",
        "shipping_last_name",
        "shipping_full_name",
        "shipping_company",
        "shipping_address_1",
        "shipping_address_2",
        "shipping_postcode",
        "shipping_city",
        "shipping_state",
        "shipping_state_code",
        "shipping_country",
        "total_spent",
        "order_count",
    ),
    {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        # Fallbacks: the customer-level columns come first and win.
        "billing_first_name": "first_name",
        "billing_last_name": "last_name",
        "billing_company": "company",
        "billing_phone": "phone",
        "billing_address_1": "invoice_address1",
        "billing_address_2": "invoice_address2",
        "billing_postcode": "invoice_postal_code",
        "billing_city": "invoice_city",
        "billing_state": "invoice_region",
        "billing_state_code": "invoice_region",
        "billing_country": "invoice_country",
        "shipping_address_1": "shipping_address1",
        "shipping_address_2": "shipping_address2",
        "shipping_postcode": "shipping_postal_code",
        "shipping_city": "shipping_city",
        "shipping_state": "shipping_region",
        "shipping_state_code": "shipping_region",
        "shipping_country": "shipping_country",
    },
)

MAGENTO_MAIN = ExportRow(
    "magento-customers-main-file",
    (
        "email",
        "_website",
        "_store",
        "confirmation",
        "created_at",
        "created_in",
        "disable_auto_group_change",
        "dob",
        "firstname",
        "gender",
        "group_id",
        "lastname",
        "middlename",
        "password_hash",
        "prefix",
        "reward_update_notification",
        "reward_warning_notification",
        "rp_token",
        "rp_token_created_at",
        "store_id",
        "suffix",
        "taxvat",
        "updated_at",
        "website_id",
        "password",
    ),
    {
        "email": "email",
        "created_at": "created_at",  # read-only: the mapper lists it as ignored
        "dob": "date_of_birth",
        "firstname": "first_name",
        "gender": "gender",
        "lastname": "last_name",
        "taxvat": "vat_number",
        "updated_at": "updated_at",  # read-only
    },
)

MAGENTO_ADDRESSES = ExportRow(
    "magento-customer-addresses",
    (
        "_website",
        "_email",
        "_entity_id",
        "city",
        "company",
        "country_id",
        "fax",
        "firstname",
        "lastname",
        "middlename",
        "postcode",
        "prefix",
        "region",
        "region_id",
        "street",
        "suffix",
        "telephone",
        "vat_id",
        "vat_is_valid",
        "vat_request_date",
        "vat_request_id",
        "vat_request_success",
        "_address_default_billing_",
        "_address_default_shipping_",
    ),
    {
        "_email": "email",
        "city": "invoice_city",
        "company": "company",
        "country_id": "invoice_country",
        "firstname": "first_name",
        "lastname": "last_name",
        "postcode": "invoice_postal_code",
        "region": "invoice_region",
        "street": "invoice_address1",
        "telephone": "phone",
        "vat_id": "vat_number",
    },
)

MAGENTO_COMPOSITE = ExportRow(
    "magento-customer-composite",
    (
        "email",
        "_website",
        "_store",
        "confirmation",
        "created_at",
        "created_in",
        "disable_auto_group_change",
        "dob",
        "firstname",
        "gender",
        "group_id",
        "lastname",
        "middlename",
        "password_hash",
        "prefix",
        "rp_token",
        "rp_token_created_at",
        "store_id",
        "suffix",
        "taxvat",
        "website_id",
        "password",
        "_address_city",
        "_address_company",
        "_address_country_id",
        "_address_fax",
        "_address_firstname",
        "_address_lastname",
        "_address_middlename",
        "_address_postcode",
        "_address_prefix",
        "_address_region",
        "_address_street",
        "_address_suffix",
        "_address_telephone",
        "_address_vat_id",
        "_address_default_billing_",
        "_address_default_shipping_",
    ),
    {
        "email": "email",
        "created_at": "created_at",
        "dob": "date_of_birth",
        "firstname": "first_name",
        "gender": "gender",
        "lastname": "last_name",
        "taxvat": "vat_number",
        "_address_city": "invoice_city",
        "_address_company": "company",
        "_address_country_id": "invoice_country",
        "_address_postcode": "invoice_postal_code",
        "_address_region": "invoice_region",
        "_address_street": "invoice_address1",
        "_address_telephone": "phone",
        "_address_vat_id": "vat_number",
    },
)

PRESTASHOP_16 = ExportRow(
    "prestashop-1.6-customers",
    (
        "ID",
        "Title",
        "Last name",
        "First Name",
        "Email address",
        "Age",
        "Enabled",
        "News.",
        "Opt.",
        "Registration",
        "Last visit",
    ),
    {"Last name": "last_name", "First Name": "first_name", "Email address": "email"},
)

PRESTASHOP_17 = ExportRow(
    "prestashop-1.7-customers",
    (
        "ID",
        "Social title",
        "First name",
        "Last name",
        "Email address",
        "Company",  # only with B2B mode
        "Sales",
        "Enabled",
        "Newsletter",
        "Partner offers",
        "Registration",
        "Last visit",
    ),
    {
        "First name": "first_name",
        "Last name": "last_name",
        "Email address": "email",
        "Company": "company",
        "Newsletter": "accepts_marketing",
    },
)

PRESTASHOP_ADDRESSES = ExportRow(
    "prestashop-1.7-addresses",
    ("ID", "First Name", "Last Name", "Address", "Zip/postal code", "City", "Country"),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Address": "invoice_address1",
        "Zip/postal code": "invoice_postal_code",
        "City": "invoice_city",
        "Country": "invoice_country",
    },
)

# Columns 01-31 of "Customer column titles"; the stored copy is cut off after column 31.
LIGHTSPEED_ECOM = ExportRow(
    "lightspeed-ecom-customers",
    (
        "Internal ID",
        "Registered",
        "Language",
        "Firstname",
        "LastnamePreposition",
        "Lastname",
        "E-Mail",
        "Phone",
        "Mobile",
        "Customer type",
        "Company",
        "Coc number",
        "Vat number",
        "Attn",
        "Streetname",
        "Address 2",
        "Number",
        "Extension",
        "Zipcode",
        "City",
        "Region",
        "Country",
        "Shipping Attn",
        "Shipping company",
        "Shipping Streetname",
        "Shipping Address 2",
        "Shipping Number",
        "Shipping Extension",
        "Shipping Zipcode",
        "Shipping City",
        "Shipping Region",
    ),
    {
        "Language": "language",
        "Firstname": "first_name",
        "Lastname": "last_name",
        "E-Mail": "email",
        "Phone": "phone",
        "Mobile": "mobile",
        "Customer type": "customer_type",
        "Company": "company",
        "Coc number": "coc_number",
        "Vat number": "vat_number",
        "Attn": "invoice_attention",
        "Streetname": "invoice_address1",
        "Address 2": "invoice_address2",
        "Number": "invoice_house_number",
        # "Extension" is the house-number addition here, a phone extension elsewhere: left out.
        "Zipcode": "invoice_postal_code",
        "City": "invoice_city",
        "Region": "invoice_region",
        "Country": "invoice_country",
        "Shipping Attn": "shipping_attention",
        "Shipping Streetname": "shipping_address1",
        "Shipping Address 2": "shipping_address2",
        "Shipping Number": "shipping_house_number",
        "Shipping Extension": "shipping_addition",
        "Shipping Zipcode": "shipping_postal_code",
        "Shipping City": "shipping_city",
        "Shipping Region": "shipping_region",
    },
)

LIGHTSPEED_X_SERIES = ExportRow(
    "lightspeed-x-series-vend-customers",
    (
        "id",
        "customer_code",
        "name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "fax",
        "website",
        "twitter",
        "company_name",
        "date_of_birth",
        "gender",
        "physical_address_1",
        "physical_address_2",
        "physical_suburb",
        "physical_city",
        "physical_postcode",
        "physical_state",
        "physical_country_id",
        "postal_address_1",
        "postal_address_2",
        "postal_suburb",
        "postal_city",
        "postal_postcode",
        "postal_state",
        "postal_country_id",
        "note",
        "do_not_email",
        "enable_loyalty",
        "loyalty_balance",
        "store_credit_balance",
        "year_to_date",
        "balance",
        "customer_group_id",
        "custom_field_1",
        "custom_field_2",
        "custom_field_3",
        "custom_field_4",
        "created_at",
        "updated_at",
    ),
    {
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "phone": "phone",
        "mobile": "mobile",
        "company_name": "company",
        "date_of_birth": "date_of_birth",
        "gender": "gender",
        "note": "notes",
        "created_at": "created_at",
        "updated_at": "updated_at",
    },
)

SQUARE = ExportRow(
    "square-customers",
    (
        "Reference ID",
        "First Name",
        "Last Name",
        "Email Address",
        "Phone Number",
        "Nickname",
        "Company Name",
        "Street Address 1",
        "Street Address 2",
        "City",
        "State",
        "Postal Code",
        "Birthday",
        "Memo",
        "Square Customer ID",
        "Creation Source",
        "First Visit",
        "Last Visit",
        "Transaction Count",
        "Lifetime Spend",
        "Email Subscription Status",
        "Instant Profile",
        "Blocked from online booking",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email Address": "email",
        "Phone Number": "phone",
        "Company Name": "company",
        "Street Address 1": "invoice_address1",
        "Street Address 2": "invoice_address2",
        "City": "invoice_city",
        "State": "invoice_region",
        "Postal Code": "invoice_postal_code",
        "Birthday": "date_of_birth",
        "Memo": "notes",
    },
)

_WIX_ADDRESS_PARTS = ("Type", "Street", "Street Line 2", "City", "State/Region", "Zip", "Country")
WIX = ExportRow(
    "wix-contacts",
    (
        "First Name",
        "Last Name",
        "Email 1",
        "Phone 1",
        "Phone 2",
        "Phone 3",
        *(f"Address {n} - {part}" for n in range(1, 11) for part in _WIX_ADDRESS_PARTS),
        "Company",
        "Labels",
        "Created At (UTC+0)",
        "Email subscriber status",
        "SMS subscriber status",
        "Last Activity",
        "Last Activity Date (UTC+0)",
        "Source",
        "Language",
        "Message",
        "Subject",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email 1": "email",
        "Phone 1": "phone",
        "Address 1 - Street": "invoice_address1",
        "Address 1 - Street Line 2": "invoice_address2",
        "Address 1 - City": "invoice_city",
        "Address 1 - State/Region": "invoice_region",
        "Address 1 - Zip": "invoice_postal_code",
        "Address 1 - Country": "invoice_country",
        "Company": "company",
        "Language": "language",
    },
)

BIGCOMMERCE = ExportRow(
    "bigcommerce-customers-bulk-edit",
    (
        "Customer ID",
        "First Name",
        "Last Name",
        "Company",
        "Email",
        "Phone",
        "Notes",
        "Store Credit",
        "Customer Group",
        "Date Joined",
        "Addresses",
        "Receive Review/Abandoned Cart Emails?",
        "Tax Exempt Category",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
        "Email": "email",
        "Phone": "phone",
        "Notes": "notes",
    },
)

BIGCOMMERCE_IMPORT = ExportRow(
    "bigcommerce-customers-import",
    (
        "Email Address",
        "First Name",
        "Last Name",
        "Company",
        "Phone",
        "Notes",
        "Store Credit",
        "Customer Group",
        "Address ID - 1",
        "Address First Name - 1",
        "Address Last Name - 1",
        "Address Company - 1",
        "Address Line 1 - 1",
        "Address Line 2 - 1",
        "Address City - 1",
        "Address State - 1",
        "Address Zip - 1",
        "Address Country - 1",
        "Address Phone - 1",
        "Receive Review/Abandoned Cart Emails?",
        "Tax Exempt Category",
        "Customer ID",
    ),
    {
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Company": "company",
        "Phone": "phone",
        "Notes": "notes",
        "Address Line 1 - 1": "invoice_address1",
        "Address Line 2 - 1": "invoice_address2",
        "Address City - 1": "invoice_city",
        "Address State - 1": "invoice_region",
        "Address Zip - 1": "invoice_postal_code",
        "Address Country - 1": "invoice_country",
    },
)

MAILCHIMP = ExportRow(
    "mailchimp-audience",
    (
        "Email Address",
        "First Name",
        "Last Name",
        "Address",
        "Phone Number",
        "MEMBER_RATING",
        "OPTIN_TIME",
        "OPTIN_IP",
        "CONFIRM_TIME",
        "CONFIRM_IP",
        "LATITUDE",
        "LONGITUDE",
        "GMTOFF",
        "DSTOFF",
        "TIMEZONE",
        "CC",
        "REGION",
        "LAST_CHANGED",
        "LEID",
        "EUID",
        "NOTES",
        "TAGS",
    ),
    {
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        # Mailchimp's address field exports as one cell ("1 Main St  Springfield  IL  62701
        # US"); fields.py's "address" alias puts all of it in Address Line 1.
        "Address": "invoice_address1",
        "Phone Number": "phone",
        "NOTES": "notes",
        # A deliberate choice: "Region" is how people head the address region; Mailchimp's
        # REGION (where the sign-up came from) is the price, listed in the job's mapping.
        "REGION": "invoice_region",
    },
)

HUBSPOT = ExportRow(
    "hubspot-contacts-default-view",
    (
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Contact owner",
        "Primary Associated Company ID",
        "Last Activity Date",
        "Lead Status",
        "Marketing contact status",
        "Create Date",
        "Associated Company",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
    },
)

HUBSPOT_ALL = ExportRow(
    "hubspot-contacts-all-properties",
    (
        "Record ID",
        "First Name",
        "Last Name",
        "Annual Revenue",
        "Average Pageviews",
        "Became a Customer Date",
        "Became a Lead Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        "Became a Subscriber Date",
        "Became an Evangelist Date",
        "Became an Opportunity Date",
        "Became an Other Lifecycle Date",
        "Buying Role",
        "Buying Role Option",
        "Campaign of last booking in meetings tool",
        "City",
        "Close Date",
        "Company domain name",
        "Company Name",
        "Company size",
        "Contact owner",
        "Contact priority",
        "Contact unworked",
        "Country/Region",
        "Create Date",
        "Created by user ID",
        "Currently in Sequence",
        "Currently in workflow",
        "Date of birth",
        "Date of last meeting booked in meetings tool",
        "Days To Close",
        "Degree",
        "Domain name",
        "Domain to which registration email was sent",
        "Email",
        "Email address automated quarantine reason",
        "Email address quarantine reason",
        "Email Address Quarantined",
        "Email Confirmed",
        "Email Domain",
        "Email hard bounce reason",
        "Event Revenue",
        "Facebook click id",
        "Fax Number",
        "Field of study",
        "First Conversion",
        "First Conversion Date",
        "First Deal Created Date",
        "First marketing email click date",
        "First marketing email open date",
        "First marketing email reply date",
        "First marketing email send date",
        "First Page Seen",
        "First Referring Site",
        "First Touch Converting Campaign",
        "Gender",
        "Google ad click id",
        "Graduation date",
        "HubSpot Score",
        "HubSpot Team",
        "Industry",
        "Invalid email address",
        "IP City",
        "IP Country",
        "IP Country Code",
        "IP State Code/Region Code",
        "IP State/Region",
        "IP Timezone",
        "Job function",
        "Job Title",
        "Last Activity Date",
        "Last Contacted",
        "Last Engagement Date",
        "Last marketing email click date",
        "Last marketing email name",
        "Last marketing email open date",
        "Last marketing email reply date",
        "Last marketing email send date",
        "Last Modified Date",
        "Last NPS survey comment",
        "Last NPS survey date",
        "Last NPS survey rating",
        "Last Page Seen",
        "Last Referring Site",
        "Last sequence ended date",
        "Last sequence enrolled",
        "Last sequence enrolled date",
        "Last Touch Converting Campaign",
        "Latest Source",
        "Latest Source Date",
        "Latest Source Drill-Down 1",
        "Latest Source Drill-Down 2",
        "Lead Rating",
        "Lead Status",
        "Legal basis for processing contact's data",
        "Lifecycle Stage",
        "Likelihood to close",
        "Marital Status",
        "Marketing contact until next update",
        "Marketing email confirmation status",
        "Marketing emails bounced",
        "Marketing emails clicked",
        "Marketing emails delivered",
        "Marketing emails opened",
        "Marketing emails replied",
        "Medium of last booking in meetings tool",
        "Message",
        "Military status",
        "Mobile Phone Number",
        "Next Activity Date",
        "Number of Associated Deals",
        "Number of Employees",
        "Number of event completions",
        "Number of Form Submissions",
        "Number of Pageviews",
        "Number of Sales Activities",
        "Number of sequences enrolled",
        "Number of Sessions",
        "Number of times contacted",
        "Number of Unique Forms Submitted",
        "Object create date/time",
        "Opted out of email: Customer Service Communication",
        "Original Source",
        "Original Source Drill-Down 1",
        "Original Source Drill-Down 2",
        "Owner Assigned Date",
        "Persona",
        "Phone Number",
        "Postal Code",
        "Predictive Lead Score",
        "Preferred language",
        "Private e-mail address",
        "Recent Conversion",
        "Recent Conversion Date",
        "Recent Deal Amount",
        "Recent Deal Close Date",
        "Recent Sales Email Clicked Date",
        "Recent Sales Email Opened Date",
        "Recent Sales Email Replied Date",
        "Registered At",
        "Relationship Status",
        "Salutation",
        "School",
        "Sends Since Last Engagement",
        "Seniority",
        "Source of last booking in meetings tool",
        "Start date",
        "State/Region",
        "Status",
        "Street Address",
        "Time First Seen",
        "Time Last Seen",
        "Time of First Session",
        "Time of Last Session",
        "Time Zone",
        "Total Revenue",
        "Twitter Username",
        "Unsubscribed from all email",
        "Website URL",
        "WhatsApp Phone Number",
        "Work email",
        "Associated Company",
        "Associated Deal",
        "Associated Company IDs",
        "Associated Deal IDs",
    ),
    {
        "First Name": "first_name",
        "Last Name": "last_name",
        "City": "invoice_city",
        "Company Name": "company",
        "Country/Region": "invoice_country",
        "Date of birth": "date_of_birth",
        "Email": "email",
        "Gender": "gender",
        "Mobile Phone Number": "mobile",
        "Phone Number": "phone",
        "Postal Code": "invoice_postal_code",
        "Preferred language": "language",
        "State/Region": "invoice_region",
        "Street Address": "invoice_address1",
    },
)

# Not a captured file: the res.partner field names an import-compatible export writes.
ODOO = ExportRow(
    "odoo-contacts-import-compatible",
    (
        "id",
        "name",
        "type",
        "is_company",
        "parent_id",
        "company_name",
        "street",
        "street2",
        "zip",
        "city",
        "state_id",
        "country_id",
        "vat",
        "function",
        "phone",
        "mobile",
        "email",
        "website",
        "title",
        "category_id",
        "lang",
        "ref",
        "comment",
    ),
    {
        "company_name": "company",
        "street": "invoice_address1",
        "street2": "invoice_address2",
        "zip": "invoice_postal_code",
        "city": "invoice_city",
        "state_id": "invoice_region",
        "country_id": "invoice_country",
        "vat": "vat_number",
        "phone": "phone",
        "mobile": "mobile",
        "email": "email",
        "lang": "language",
        "comment": "notes",
    },
)

EXPORT_ROWS = (
    SHOPIFY,
    SHOPIFY_OLDER,
    WOOCOMMERCE,
    MAGENTO_MAIN,
    MAGENTO_ADDRESSES,
    MAGENTO_COMPOSITE,
    PRESTASHOP_16,
    PRESTASHOP_17,
    PRESTASHOP_ADDRESSES,
    LIGHTSPEED_ECOM,
    LIGHTSPEED_X_SERIES,
    SQUARE,
    WIX,
    BIGCOMMERCE,
    BIGCOMMERCE_IMPORT,
    MAILCHIMP,
    HUBSPOT,
    HUBSPOT_ALL,
    ODOO,
)


def row_name(row: ExportRow) -> str:
    return row.name


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=row_name)
def test_each_header_of_a_platform_export_feeds_its_field_or_none(row: ExportRow) -> None:
    checked = [h for h in row.headers if fold_header(h) not in _MISMAPPED]
    found = {header: field_for(header) for header in checked}
    expected = {header: row.mapped.get(header) for header in checked}
    assert found == expected


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=row_name)
def test_expected_mappings_name_headers_of_their_row(row: ExportRow) -> None:
    assert set(row.mapped) <= set(row.headers)
    assert set(row.mapped.values()) <= set(FIELDS_BY_KEY)


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=row_name)
def test_a_platform_export_never_feeds_the_customer_record_id(row: ExportRow) -> None:
    fed = [h for h in row.headers if fold_header(h) not in _MISMAPPED and field_for(h) == "id"]
    assert fed == []


def test_no_platform_alias_takes_a_spelling_another_field_already_has() -> None:
    clashes = [
        (alias, key, HEADER_INDEX[fold_header(alias)])
        for key, aliases in PLATFORM_ALIASES.items()
        for alias in aliases
        if fold_header(alias) in HEADER_INDEX and HEADER_INDEX[fold_header(alias)] != key
    ]
    assert clashes == []


def test_no_folded_spelling_is_claimed_by_two_fields() -> None:
    owners: dict[str, set[str]] = {}
    for key, aliases in PLATFORM_ALIASES.items():
        for alias in aliases:
            owners.setdefault(fold_header(alias), set()).add(key)
    shared = {folded: keys for folded, keys in owners.items() if len(keys) > 1}
    assert shared == {}


def test_platform_aliases_feed_writable_customer_fields() -> None:
    for key, aliases in PLATFORM_ALIASES.items():
        assert key in FIELDS_BY_KEY, key
        assert FIELDS_BY_KEY[key].kind not in (FieldKind.READ_ONLY, FieldKind.RECORD_ID), key
        assert aliases, key
        for alias in aliases:
            assert fold_header(alias), (key, alias)


def test_platform_aliases_are_listed_once() -> None:
    folded = [fold_header(a) for aliases in PLATFORM_ALIASES.values() for a in aliases]
    assert sorted({f for f in folded if folded.count(f) > 1}) == []


@pytest.mark.parametrize("header", KNOWN_UNMAPPED)
def test_columns_that_are_not_customer_fields_stay_unmapped(header: str) -> None:
    assert field_for(header) is None


def test_the_dutch_name_infix_is_not_mapped() -> None:
    assert "Tussenvoegsel" in KNOWN_UNMAPPED
    assert field_for("Tussenvoegsel") is None
    assert field_for("tussenvoegsel") is None


@pytest.mark.parametrize(
    ("header", "key"),
    [
        # French
        ("Prénom", "first_name"),
        ("Nom", "last_name"),
        ("Adresse e-mail", "email"),
        ("Adresse mail", "email"),
        ("Adresse électronique", "email"),
        ("Numéro de téléphone", "phone"),
        ("Téléphone fixe", "phone"),
        ("Téléphone portable", "mobile"),
        ("Téléphone mobile", "mobile"),
        ("Société", "company"),
        ("Nom de la société", "company"),
        ("Raison sociale", "company"),
        ("SIRET", "company_id_number"),
        ("N° SIRET", "company_id_number"),
        ("Nº SIRET", "company_id_number"),
        ("N. SIRET", "company_id_number"),
        ("Numéro SIRET", "company_id_number"),
        ("Numéro de TVA", "vat_number"),
        ("N° TVA intracommunautaire", "vat_number"),
        ("TVA intracommunautaire", "vat_number"),
        ("Adresse ligne 1", "invoice_address1"),
        ("Adresse 2", "invoice_address2"),
        ("Complément d'adresse", "invoice_address2"),
        ("Code postal", "invoice_postal_code"),
        ("Ville", "invoice_city"),
        ("Pays", "invoice_country"),
        ("Commentaire", "notes"),
        ("Remarques", "notes"),
        # Dutch
        ("Voornaam", "first_name"),
        ("Achternaam", "last_name"),
        ("E-mailadres", "email"),
        ("Telefoonnummer", "phone"),
        ("Mobiel nummer", "mobile"),
        ("Mobiel telefoonnummer", "mobile"),
        ("GSM-nummer", "mobile"),
        ("Straat", "invoice_address1"),
        ("Straatnaam", "invoice_address1"),
        ("Huisnummer", "invoice_house_number"),
        ("Huisnr", "invoice_house_number"),
        ("Toevoeging", "invoice_addition"),
        ("Huisnummer toevoeging", "invoice_addition"),
        ("Postcode", "invoice_postal_code"),
        ("Plaats", "invoice_city"),
        ("Land", "invoice_country"),
        ("Bedrijfsnaam", "company"),
        ("KvK-nummer", "coc_number"),
        ("BTW-nummer", "vat_number"),
        ("Btw-id", "vat_number"),
        ("Geboortedatum", "date_of_birth"),
        ("Geslacht", "gender"),
        ("Nieuwsbrief", "accepts_marketing"),
        ("Opmerking", "notes"),
    ],
)
def test_french_and_dutch_spellings_feed_their_field(header: str, key: str) -> None:
    assert field_for(header) == key


@pytest.mark.parametrize(
    ("header", "key"),
    [
        # No Lightspeed Retail (R-Series) export row was found: the customer form's spellings.
        ("Home Phone", "phone"),
        ("Mobile", "mobile"),
        ("Company", "company"),
        ("Birthday", "date_of_birth"),
        ("Zip", "invoice_postal_code"),
        ("Work Phone", None),
    ],
)
def test_lightspeed_retail_r_series_spellings(header: str, key: str | None) -> None:
    assert field_for(header) == key


@pytest.mark.parametrize(
    "header",
    [
        "Accepts SMS Marketing",  # Shopify: SMS, not email
        "Email Subscription Status",  # Square: Subscribed / Unsubscribed / Unknown
        "Email subscriber status",  # Wix
        "Marketing contact status",  # HubSpot
        "Unsubscribed from all email",  # HubSpot: inverted
        "do_not_email",  # Vend: inverted
        "Partner offers",  # PrestaShop: third-party offers
        "Receive Review/Abandoned Cart Emails?",  # BigCommerce
    ],
)
def test_consent_columns_that_are_not_yes_to_marketing_emails_stay_unmapped(
    header: str,
) -> None:
    assert field_for(header) is None


@pytest.mark.parametrize(
    ("header", "key_before", "why"),
    FIELDS_PY_MISMAPS,
    ids=[h for h, _, _ in FIELDS_PY_MISMAPS],
)
def test_other_platforms_own_ids_and_lookalike_columns_feed_no_field(
    header: str, key_before: str, why: str
) -> None:
    assert HEADER_INDEX.get(fold_header(header)) != key_before, why
    assert field_for(header) is None, why


@pytest.mark.parametrize("row", EXPORT_ROWS, ids=row_name)
def test_no_export_has_two_columns_for_one_field_that_must_agree(row: ExportRow) -> None:
    # A second form of a field (Province Code beside Province) or the billing contact beside
    # the customer only fills blanks: otherwise every row that differs would fail.
    from bulkport.errors import MappingError
    from bulkport.spreadsheets.mapping import guess_mapping

    try:
        mapping = guess_mapping(list(row.headers))
    except MappingError:
        return
    for key, columns in mapping.shared_fields().items():
        main = [row.headers[i] for i in columns if i not in mapping.fallback]
        assert len(main) == 1, (key, main)
