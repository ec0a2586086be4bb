"""The ModelResource: the bench file's labels as column names, bulk mode, batches of 1,000."""

from import_export import fields, resources, widgets

from djbench.models import Customer

# (field, column header in the file, widget)
COLUMNS = (
    ("first_name", "First Name", "text"),
    ("last_name", "Last Name", "text"),
    ("email", "Email", "text"),
    ("phone", "Phone", "text"),
    ("mobile", "Mobile Phone", "text"),
    ("language", "Language", "text"),
    ("gender", "Gender", "text"),
    ("date_of_birth", "Date of Birth", "date"),
    ("accepts_marketing", "Accepts Marketing Emails", "bool"),
    ("account_approved", "Account Approved", "bool"),
    ("customer_type", "Customer Type", "text"),
    ("company", "Company", "text"),
    ("vat_number", "VAT Number", "text"),
    ("tax_exempt", "Tax Exempt", "bool"),
    ("invoice_address1", "Address Line 1", "text"),
    ("invoice_house_number", "House Number", "text"),
    ("invoice_addition", "Addition", "text"),
    ("invoice_postal_code", "Postal Code", "text"),
    ("invoice_city", "City", "text"),
    ("invoice_region", "Region/State", "text"),
    ("invoice_country", "Country", "text"),
    ("notes", "Notes", "text"),
)


def _widget(kind: str) -> widgets.Widget:
    if kind == "date":
        return widgets.DateWidget(format="%Y-%m-%d")
    if kind == "bool":
        return widgets.BooleanWidget()
    return widgets.CharWidget()


def _declared() -> dict[str, object]:
    return {
        key: fields.Field(attribute=key, column_name=label, widget=_widget(kind))
        for key, label, kind in COLUMNS
    }


class _Meta:
    model = Customer
    fields = tuple(key for key, _, _ in COLUMNS)
    import_id_fields = ("email",)
    use_bulk = True
    batch_size = 1000
    # The documented bulk-mode advice: no per-row diff (makes django-import-export faster).
    skip_diff = True


CustomerResource = type(
    "CustomerResource", (resources.ModelResource,), {**_declared(), "Meta": _Meta}
)
