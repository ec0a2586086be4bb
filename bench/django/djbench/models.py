"""The same 22 customer columns as the bench's files, as a Django model."""

from django.db import models


class Customer(models.Model):
    """One customer; email is the import's key (unique, as in bulkport)."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, unique=True, null=True)
    phone = models.CharField(max_length=40, blank=True)
    mobile = models.CharField(max_length=40, blank=True)
    language = models.CharField(max_length=35, blank=True)
    gender = models.CharField(max_length=20, blank=True)
    date_of_birth = models.DateField(null=True)
    accepts_marketing = models.BooleanField(null=True)
    account_approved = models.BooleanField(null=True)
    customer_type = models.CharField(max_length=20, blank=True)
    company = models.CharField(max_length=255, blank=True)
    vat_number = models.CharField(max_length=50, blank=True)
    tax_exempt = models.BooleanField(null=True)
    invoice_address1 = models.CharField(max_length=255, blank=True)
    invoice_house_number = models.CharField(max_length=20, blank=True)
    invoice_addition = models.CharField(max_length=20, blank=True)
    invoice_postal_code = models.CharField(max_length=20, blank=True)
    invoice_city = models.CharField(max_length=100, blank=True)
    invoice_region = models.CharField(max_length=100, blank=True)
    invoice_country = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        app_label = "djbench"
        db_table = "djbench_customer"
