from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from creditors.models import Batch, Creditor


@admin.register(Creditor)
class CreditorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "vat_number"]
    search_fields = ["code", "name", "vat_number"]
    fieldsets = [
        (None, {"fields": ["code", "name", "vat_number", "retention_months"]}),
        (
            _("Invoicing"),
            {
                "fields": [
                    "billing_street",
                    "billing_postcode",
                    "billing_city",
                    "billing_province",
                    "billing_country",
                    "sdi_code",
                    "pec",
                ]
            },
        ),
    ]


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ["code", "creditor", "assigned_on", "returned_on", "kind", "state"]
    list_filter = ["creditor", "kind", "state"]
    search_fields = ["code"]
    raw_id_fields = ["created_job"]
